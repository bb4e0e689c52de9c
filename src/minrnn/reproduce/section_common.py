"""What the sections of the minRNN-paper report share: display names, the run header line, plan groups."""

from __future__ import annotations

from minrnn.reproduce.report import fmt

NAMES = {"mingru": "minGRU", "minlstm": "minLSTM", "mamba": "Mamba", "transformer": "Transformer",
         "aaren": "Aaren", "lstm": "LSTM", "gru": "GRU", "gru_loop": "GRU (GRUCell loop)",
         "lstm_loop": "LSTM (LSTMCell loop)", "xlstm": "xLSTM"}


def header(d: dict) -> str:
    """The italic line under each section title: scale, machine, load, start time and wall time."""
    m = d["machine"]
    load = m.get("loadavg_at_start")
    return (f"*Scale `{d['scale']}`; machine: {m['cpu']} ({m['cpu_count']} cores"
            f"{', GPU ' + m['cuda'] if m.get('cuda') else ''}), torch {m['torch']}, {m['torch_threads']} "
            f"thread(s), "
            f"load average at start {fmt(load[0]) if load else '?'} (shared machine: timings are noisy); "
            f"started {m['date_utc']}; wall time {fmt(d.get('wall_time_s', 0) / 60, 1)} min.*")


def group_of(run: dict) -> str:
    """The plan group of a saved run: "main", "ablation", "long", ... ("main" for runs saved without one)."""
    return run.get("group", "main")


def runs_of(d: dict, group: str) -> list[dict]:
    """The runs of experiment JSON ``d`` that belong to plan group ``group``."""
    return [r for r in d["runs"] if group_of(r) == group]


def paragraphs(parts) -> str:
    """The non-empty ``parts`` as markdown paragraphs."""
    return "\n\n".join(p for p in parts if p)
