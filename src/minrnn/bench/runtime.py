"""Training-step runtime and memory vs sequence length (minRNN paper, Fig. 1).

For each model and each T, one training step = forward on x (B, T, hidden) + loss (mean of squares of the
output) + backward, on ONE layer of the model (as the paper's timing). Models:
- ``mingru`` / ``minlstm``: the parallel (scan) layers; ``mamba``, ``transformer``: the product mixers;
- ``gru`` / ``lstm``: torch.nn.GRU / nn.LSTM (cuDNN on GPU, fused loop on CPU);
- ``gru_loop`` / ``lstm_loop``: a Python loop over nn.GRUCell / nn.LSTMCell — the sequential baseline the
paper
  timed (its speed-ups are against this).
Time: median over ``--repeats`` steps after ``--warmup`` steps (``torch.cuda.synchronize`` on GPU).
Memory: on CUDA, ``torch.cuda.max_memory_allocated`` during the step minus the memory before it; on CPU, the
bytes of the distinct tensors autograd saves for backward (``torch.autograd.graph.saved_tensors_hooks``,
de-duplicated by storage), i.e. the activation memory of training — not the process RSS.
Outputs: a CSV, a PNG (time and memory vs T, log-log) and the printed speed-ups of minGRU/minLSTM over
gru_loop/lstm_loop.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import torch
from torch import nn

__all__ = ["MODELS", "build", "measure", "run", "main", "PRESETS"]

PAIRS = (("mingru", "gru_loop"), ("minlstm", "lstm_loop"), ("mingru", "gru"), ("minlstm", "lstm"))
MODELS = ("mingru", "minlstm", "gru", "lstm", "gru_loop", "lstm_loop", "mamba", "transformer")
PRESETS = {
    "gpu": dict(batch=64, hidden=128, lengths=[64, 128, 256, 512, 1024, 2048, 4096], repeats=10, warmup=3),
    "cpu": dict(batch=8, hidden=64, lengths=[64, 128, 256, 512, 1024, 2048], repeats=3, warmup=1),
}


class _CellLoop(nn.Module):
    """Sequential GRUCell/LSTMCell loop: x (B,T,H) -> y (B,T,H)."""

    def __init__(self, kind: str, hidden: int):
        super().__init__()
        self.kind = kind
        self.cell = (nn.GRUCell if kind == "gru" else nn.LSTMCell)(hidden, hidden)

    def forward(self, x):
        B, T, H = x.shape
        h = x.new_zeros(B, H)
        c = x.new_zeros(B, H)
        ys = []
        for t in range(T):
            if self.kind == "gru":
                h = self.cell(x[:, t], h)
            else:
                h, c = self.cell(x[:, t], (h, c))
            ys.append(h)
        return torch.stack(ys, 1)


class _Wrap(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        out = self.m(x)
        return out[0] if isinstance(out, tuple) else out


def build(name: str, hidden: int) -> nn.Module:
    """One layer of model ``name`` (see :data:`MODELS`) of width ``hidden``; forward(x) -> y (B,T,hidden)."""
    if name not in MODELS:
        raise ValueError(f"name must be one of {MODELS}, got {name!r}")
    if name in ("gru_loop", "lstm_loop"):
        return _CellLoop(name[:-5], hidden)
    if name in ("gru", "lstm"):
        return _Wrap((nn.GRU if name == "gru" else nn.LSTM)(hidden, hidden, batch_first=True))
    from minrnn.models import build_mixer
    return _Wrap(build_mixer(name, hidden))


def _saved_bytes(model, x) -> tuple[torch.Tensor, int]:
    seen: dict[tuple, int] = {}

    def pack(t):
        try:
            key = (t.untyped_storage().data_ptr(), t.device.type)
            seen[key] = max(seen.get(key, 0), t.untyped_storage().nbytes())
        except (RuntimeError, NotImplementedError):
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = model(x)
        loss = y.float().pow(2).mean()
    return loss, sum(seen.values())


def measure(model: nn.Module, batch: int, T: int, hidden: int, repeats: int = 3, warmup: int = 1,
            device: str = "cpu") -> dict:
    """Median seconds of one training step and its memory (see the module docstring)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, T, hidden, generator=g).to(device).requires_grad_(False)
    cuda = device.startswith("cuda")
    times, mem = [], 0
    for i in range(warmup + repeats):
        model.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        t0 = time.perf_counter()
        if i == 0 and not cuda:
            loss, mem = _saved_bytes(model, x)
        else:
            loss = model(x).float().pow(2).mean()
        loss.backward()
        if cuda:
            torch.cuda.synchronize()
            mem = max(mem, torch.cuda.max_memory_allocated() - base)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return {"time_ms": 1000 * statistics.median(times), "mem_bytes": int(mem)}


def run(models=MODELS, batch: int = 8, hidden: int = 64, lengths=(64, 128, 256, 512, 1024, 2048),
        repeats: int = 3, warmup: int = 1, device: str = "cpu", max_step_s: float = 20.0,
        progress: bool = True) -> list[dict]:
    """Measure every (model, T); a model whose step exceeds ``max_step_s`` skips the longer T (recorded)."""
    rows = []
    for name in models:
        torch.manual_seed(0)
        model = build(name, hidden).to(device)
        for T in lengths:
            m = measure(model, batch, T, hidden, repeats, warmup, device)
            rows.append({"model": name, "T": T, "batch": batch, "hidden": hidden, **m})
            if progress:
                print(f"  {name:12s} T={T:5d} {m['time_ms']:10.2f} ms  {m['mem_bytes'] / 2**20:9.2f} MiB",
                      flush=True)
            if m["time_ms"] / 1000 > max_step_s:
                rows.append({"model": name, "T": "skipped>", "batch": batch, "hidden": hidden,
                             "time_ms": float("nan"), "mem_bytes": 0})
                break
    return rows


def speedups(rows: list[dict]) -> dict:
    """{f"{fast}/{slow}@T": slow_time / fast_time} for minGRU vs gru_loop and minLSTM vs lstm_loop (and the
    memory ratio fast/slow)."""
    t = {(r["model"], r["T"]): r for r in rows if r["T"] != "skipped>"}
    out = {}
    for fast, slow in PAIRS:
        for (m, T), r in t.items():
            if m == fast and (slow, T) in t:
                out[f"{fast}/{slow}@{T}"] = {"speedup": t[(slow, T)]["time_ms"] / r["time_ms"],
                                             "mem_ratio": r["mem_bytes"] / max(1, t[(slow, T)]["mem_bytes"])}
    return out


def plot(rows: list[dict], path: str | Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name in dict.fromkeys(r["model"] for r in rows):
        rs = [r for r in rows if r["model"] == name and r["T"] != "skipped>"]
        axes[0].plot([r["T"] for r in rs], [r["time_ms"] for r in rs], "o-", label=name)
        axes[1].plot([r["T"] for r in rs], [r["mem_bytes"] / 2**20 for r in rs], "o-", label=name)
    for ax, yl in zip(axes, ("training step time (ms)", "memory (MiB)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_ylabel(yl)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """CLI: ``minrnn bench runtime [--scale cpu|gpu] [--models ...] [--lengths ...] [--threads N] --out-dir DIR``."""
    p = argparse.ArgumentParser(prog="minrnn bench runtime", description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=sorted(PRESETS), default="cpu")
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--batch", type=int)
    p.add_argument("--hidden", type=int)
    p.add_argument("--lengths", type=int, nargs="+")
    p.add_argument("--repeats", type=int, help="timed steps per (model, T) (median)")
    p.add_argument("--warmup", type=int, help="untimed steps before them")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave as is)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out-dir", default="bench_out")
    a = p.parse_args(argv)
    for k, low in (("batch", 1), ("hidden", 1), ("repeats", 1), ("warmup", 0), ("threads", 0)):
        if getattr(a, k) is not None and getattr(a, k) < low:
            p.error(f"--{k} must be >= {low}, got {getattr(a, k)}")
    if a.lengths is not None and min(a.lengths) < 1:
        p.error(f"--lengths must be positive, got {a.lengths}")
    if a.threads:
        torch.set_num_threads(a.threads)
    kw = dict(PRESETS[a.scale])
    for k in ("batch", "hidden", "lengths", "repeats", "warmup"):
        if getattr(a, k) is not None:
            kw[k] = getattr(a, k)
    rows = run(a.models, device=a.device, **kw)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "runtime.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot(rows, out / "runtime.png")
    for k, v in speedups(rows).items():
        print(f"{k}: {v['speedup']:.1f}x faster, memory x{v['mem_ratio']:.2f}")
    print(f"wrote {out / 'runtime.csv'} and {out / 'runtime.png'}")
    return 0
