"""``python -m minrnn ...`` is the ``minrnn`` command."""

import sys

from minrnn.cli import main

sys.exit(main())
