"""The shared command line of the preset-based tasks (``minrnn train selective_copy|chomsky|rl``).

``--scale`` picks a preset of the task's config, ``--FIELD VALUE`` overrides single keys, the task's ``run`` is
called, a one-line JSON summary is printed, and ``--out FILE`` receives the full result as JSON.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from minrnn.tasks.checks import check_out, to_json


def preset_main(argv: list[str] | None, *, prog: str, description: str, presets: dict[str, dict],
                run: Callable[[dict], dict], fields: Sequence[tuple[str, type]],
                summarize: Callable[[dict], dict], choices: dict[str, tuple[Sequence[str], str]] | None = None
                ) -> int:
    """Parse ``argv``, run the task, print ``summarize(result)`` as JSON; returns the exit code.

    Args:
        fields: (config key, type) pairs that become ``--key`` options (underscores as dashes), default: preset.
        choices: config key -> (allowed values, default) for options with a fixed set of values.
    """
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--scale", choices=sorted(presets), default="cpu")
    for key, (allowed, default) in (choices or {}).items():
        p.add_argument("--" + key.replace("_", "-"), dest=key, choices=sorted(allowed), default=default)
    for key, typ in fields:
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=typ, default=None)
    p.add_argument("--out", default=None, help="write the result JSON here")
    a = p.parse_args(argv)
    out = check_out(a.out)  # before training: a bad --out must not throw the run away
    config = dict(presets[a.scale])
    config.update({k: v for k, v in vars(a).items() if k not in ("scale", "out") and v is not None})
    result = run(config)
    if out:
        out.write_text(to_json(result))
    print(to_json(summarize(result), indent=None))
    return 0
