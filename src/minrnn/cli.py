"""The ``minrnn`` command: ``train``, ``eval``, ``generate``, ``bench``, ``reproduce``, ``demo``.

Every subcommand forwards its remaining arguments to a module's ``main(argv) -> int`` (imported lazily), so
each task keeps its own ``--help``. Bad input (and an OSError such as an unwritable ``--out``) ends with a
one-line ``minrnn: error: ...`` and exit code 2 (set MINRNN_DEBUG=1 for the traceback).

With ``MINRNN_CPU_MALLOC=keep``, training, evaluating, generating and reproducing keep freed CPU memory for
reuse (:mod:`minrnn.cpu_memory`: faster large allocations, higher resident memory). Benchmarks decide for
themselves (``bench ops --malloc``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

TASKS = ("lm", "selective_copy", "chomsky", "rl", "tpp", "forecasting", "classification")
BENCHES = ("ops", "gpu", "runtime", "streaming")
REPRODUCE = {"minrnn-paper": "minrnn_paper", "aaren-paper": "aaren_paper"}

USAGE = """usage: minrnn COMMAND ...

commands:
  train TASK [options]      train a model; TASK in {tasks}
  eval RUN_DIR [options]    validation loss of a trained run
  generate RUN_DIR [--tokens N] [options]
                            sample from a trained language model
  bench {benches} [options]
  reproduce {{{repro}}} [--scale cpu|gpu] [options]
  demo [options]            minGRU vs Transformer char-LM on Shakespeare (CPU, a few minutes)

`minrnn COMMAND [TASK] --help` shows each command's options."""


class CLIError(ValueError):
    pass


def _usage() -> str:
    return USAGE.format(tasks=", ".join(TASKS), benches="|".join(BENCHES), repro="|".join(REPRODUCE))


def _load(module: str, func: str = "main"):
    """Import ``module`` and return ``func``; a module not present yet gives a clear error."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            raise CLIError(f"{module} is not available in this installation") from None
        raise
    fn = getattr(mod, func, None)
    if fn is None:
        raise CLIError(f"{module} has no {func}() entry point")
    return fn


class _HelpShown(Exception):
    pass


def _pick(kind: str, name: str | None, choices) -> str:
    if name in ("-h", "--help"):
        cmd = {"task": "train"}.get(kind, kind)
        print(f"usage: minrnn {cmd} {{{'|'.join(choices)}}} [options]\n\n"
              f"`minrnn {cmd} NAME --help` shows the options of one of them.")
        raise _HelpShown
    if name is None:
        raise CLIError(f"{kind} needs one of {', '.join(choices)}")
    key = name.replace("-", "_") if kind != "reproduce" else name
    if key not in choices:
        raise CLIError(f"unknown {kind} {name!r}; expected one of {', '.join(choices)}")
    return key


def _run_task_of(run_dir: str | None, func: str, rest: list[str]) -> int:
    if run_dir is None or run_dir in ("-h", "--help"):
        if run_dir in ("-h", "--help"):
            return _load("minrnn.tasks.lm", f"{func}_main")(["--help"])
        raise CLIError("expected a run directory (the --out of `minrnn train`)")
    d = Path(run_dir)
    cfg_path = next((p for p in (d / "checkpoint" / "config.json", d / "config.json") if p.is_file()), None)
    if cfg_path is None:
        raise CLIError(f"{run_dir} is not a run directory (no checkpoint/config.json)")
    try:
        task = json.loads(cfg_path.read_text(encoding="utf-8")).get("task")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as e:
        raise CLIError(f"corrupt run config {cfg_path}: {e}") from None
    if task not in TASKS:
        raise CLIError(f"{cfg_path} names unknown task {task!r}")
    if task != "lm":  # the other tasks write a result JSON, not a model to evaluate or sample from
        raise CLIError(f"{func} works on language-model runs (minrnn train lm); {run_dir} is a {task!r} run")
    return _load(f"minrnn.tasks.{task}", f"{func}_main")([run_dir, *rest])


def dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from minrnn import __version__

        print(__version__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd in ("train", "eval", "generate", "reproduce", "demo"):
        from minrnn.cpu_memory import configure

        configure()
    head, tail = (rest[0] if rest else None), rest[1:]
    if cmd == "train":
        return _load(f"minrnn.tasks.{_pick('task', head, TASKS)}")(tail)
    if cmd == "eval":
        return _run_task_of(head, "eval", tail)
    if cmd == "generate":
        return _run_task_of(head, "generate", tail)
    if cmd == "bench":
        return _load(f"minrnn.bench.{_pick('bench', head, BENCHES)}")(tail)
    if cmd == "reproduce":
        return _load(f"minrnn.reproduce.{REPRODUCE[_pick('reproduce', head, REPRODUCE)]}")(tail)
    if cmd == "demo":
        return _load("minrnn.demo")(rest)
    raise CLIError(f"unknown command {cmd!r}\n{_usage()}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return int(dispatch(argv) or 0)
    except _HelpShown:
        return 0
    except KeyboardInterrupt:
        print("minrnn: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, FloatingPointError) as e:  # OSError: FileNotFoundError, ...
        if os.environ.get("MINRNN_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"minrnn: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
