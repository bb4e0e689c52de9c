"""Run the minrnn demo (same as `minrnn demo`): minGRU vs Transformer character LMs on Shakespeare, on CPU."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from minrnn.demo import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
