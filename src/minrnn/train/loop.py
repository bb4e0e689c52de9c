"""A task-agnostic training loop: AdamW, warmup + cosine, grad clipping, periodic eval, checkpoints, resume,
metrics.jsonl, a loss-curve PNG, tqdm progress, and data parallelism under ``torchrun``.

Determinism: the training batch of step s is a pure function of (seed, s), and the optimizer and RNG states
are checkpointed, so a resumed CPU run reproduces the uninterrupted run's losses exactly.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

from minrnn.ops.validation import is_integral
from minrnn.train import checkpoint as ck
from minrnn.train.config import TrainConfig, lr_at
from minrnn.train.core import optimizer_step
from minrnn.train.distributed import DistInfo, all_reduce_mean, barrier, gather_to_main, setup, teardown

CKPT_DIR, METRICS, CURVE, RUN_CONFIG = "checkpoint", "metrics.jsonl", "loss.png", "config.json"

BatchFn = Callable[[int, slice], tuple]          # (step, rows of the global batch) -> batch
EvalFn = Callable[[slice], Iterable[tuple]]      # rows -> fixed validation batches
LossFn = Callable[[nn.Module, tuple], torch.Tensor]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices (dim >= 2) only, never on parameters marked ``_no_weight_decay`` or named
    ``A_log`` (Mamba's; the mark is an attribute that ``copy.deepcopy`` drops)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        keep = p.dim() < 2 or getattr(p, "_no_weight_decay", False) or name.rsplit(".", 1)[-1] == "A_log"
        (no_decay if keep else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def read_metrics(out_dir: Path) -> list[dict]:
    """The records of ``metrics.jsonl``. A last line cut short (a kill or a full disk during the append) is
    left out: the checkpoint it belonged to was not written yet, so a resume redoes those steps anyway."""
    p = Path(out_dir) / METRICS
    if not p.is_file():
        return []
    lines = [line for line in p.read_text().splitlines() if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i == len(lines) - 1:
                break
            raise ValueError(f"{p}: line {i + 1} is not JSON ({e})") from None
    return records


def _move(batch, device):
    return tuple(t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t for t in batch)


def _rows(global_batch: int, info: DistInfo) -> slice:
    if global_batch % info.world_size:
        raise ValueError(f"batch_size={global_batch} must be divisible by the number of processes "
                         f"({info.world_size})")
    per = global_batch // info.world_size
    return slice(info.rank * per, (info.rank + 1) * per)


def fit(model: nn.Module, cfg: TrainConfig, out_dir: str | Path, *, train_batch: BatchFn,
        eval_batches: EvalFn, loss_fn: LossFn, run_config: dict, tokens_per_step: int | None = None,
        resume: bool = False,
        stop_at: int | None = None, title: str = "") -> list[dict]:
    """Train ``model`` for ``cfg.steps`` optimizer steps and return the metrics records.

    ``out_dir`` receives config.json (``run_config``), metrics.jsonl, loss.png and checkpoint/. An existing
    run there (a complete checkpoint) is only continued with ``resume=True`` (from its last checkpoint); otherwise
    ValueError and nothing is overwritten; the leftovers of a first checkpoint that never completed are deleted
    and the run starts afresh. ``stop_at`` ends the run after that many steps and writes a checkpoint there, so
    ``resume=True`` continues exactly as if the run had not stopped.

    Each record: step, train_loss (mean since the previous record), val_loss, lr, tokens_per_s (training
    throughput since the previous record), elapsed_s (cumulative training time, evaluation excluded).
    """
    if stop_at is not None:
        if not is_integral(stop_at) or stop_at < 1:
            raise ValueError(f"stop_at must be an int >= 1 or None, got {stop_at!r}")
        stop_at = int(stop_at)
    out = Path(out_dir)
    device = resolve_device(cfg.device)
    info = setup(device.type)
    try:
        return _fit(model, cfg, out, device, info, train_batch, eval_batches, loss_fn, run_config,
                    tokens_per_step, resume, stop_at, title)
    finally:
        teardown(info)


def _rank_state(acc: torch.Tensor, device: torch.device) -> dict:
    """What each process must checkpoint of its own: its RNG streams (dropout masks differ per rank) and its
    share of the training-loss sum since the last metrics record."""
    return {"rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "loss_sum": acc.detach().float().cpu()}


def _restore_rank_state(st: dict, info: DistInfo, device: torch.device, seed: int, step: int) -> torch.Tensor:
    """Restore this process's RNG from trainer state ``st``; returns its training-loss sum since the last record.

    Older checkpoints hold one RNG state (rank 0's) at the top level. Resuming with more processes than the
    checkpoint has states reseeds the extra ones from (seed, rank, step): such a run cannot be exact anyway.
    """
    ranks = st.get("ranks") or [{"rng_cpu": st["rng_cpu"], "rng_cuda": st.get("rng_cuda")}]
    if info.rank < len(ranks):
        own = ranks[info.rank]
        torch.set_rng_state(own["rng_cpu"])
        if device.type == "cuda" and own.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(own["rng_cuda"].cpu(), device)
    else:
        torch.manual_seed(seed + 7919 * info.rank + 104729 * step)
    sums = [r.get("loss_sum", torch.zeros(())) for r in ranks]
    # the logged loss is the mean over processes: with another process count, give each the stored mean
    own_sum = sums[info.rank] if len(sums) == info.world_size else sum(sums) / len(sums)
    return own_sum.to(device=device, dtype=torch.float32)


def _checkpoint(ckpt: Path, model, opt, run_config: dict, info: DistInfo, device, step: int, elapsed: float,
                acc: torch.Tensor, n_acc: int, tok: int, seconds: float) -> None:
    """Checkpoint at ``step`` (collective: every process must call it; rank 0 writes). ``acc``/``n_acc``/
    ``tok``/``seconds``: the open metrics window (loss sum, steps, tokens, training time since the last record),
    non-empty only for a ``stop_at`` checkpoint, so a resumed run logs the same record as an uninterrupted one.
    """
    ranks = gather_to_main(_rank_state(acc, device), info)
    if info.is_main:
        trainer = {"optimizer": opt.state_dict(), "ranks": ranks, "elapsed_s": elapsed,
                   "window": {"n": n_acc, "tokens": tok, "seconds": seconds}}
        ck.save_checkpoint(ckpt, model, run_config, trainer, step=step)


def _prepare_checkpoint(ckpt: Path, out: Path, resume: bool, info: DistInfo) -> None:
    """Check ``resume`` against what ``ckpt`` holds; rank 0 then finishes an interrupted checkpoint swap
    (resume) or deletes the leftovers of a checkpoint that never completed (fresh start)."""
    barrier(info)  # every process is done reading the run folder before rank 0 changes it
    has_run = ck.find_checkpoint(ckpt) is not None
    if ck.holds_run(ckpt) and not resume:
        raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if resume and not has_run:
        raise ValueError(f"--resume: no complete checkpoint in {ckpt}; run without --resume to start afresh")
    barrier(info)
    if info.is_main:
        if resume:
            ck.recover_checkpoint(ckpt)
        elif ck.leftovers(ckpt):
            ck.clear_checkpoint(ckpt)
    barrier(info)


def _fit(model, cfg, out, device, info, train_batch, eval_batches, loss_fn, run_config, tokens_per_step,
         resume, stop_at, title):
    ckpt = out / CKPT_DIR
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    _prepare_checkpoint(ckpt, out, resume, info)
    model.to(device)
    opt = make_optimizer(model, cfg)
    start, elapsed = 0, 0.0
    acc, n_acc, tok, partial_s = torch.zeros((), device=device), 0, 0, 0.0
    torch.manual_seed(cfg.seed + 7919 * info.rank)
    if resume:
        start = ck.load_weights(ckpt, model)
        st = ck.load_trainer_state(ckpt, start)
        opt.load_state_dict(st["optimizer"])
        # the saved groups carry the old hyperparameters: a resumed run uses the ones its config.json records
        # (lr is set every step from the schedule)
        for g, decay in zip(opt.param_groups, (cfg.weight_decay, 0.0)):
            g["weight_decay"], g["betas"] = decay, (cfg.beta1, cfg.beta2)
        acc = _restore_rank_state(st, info, device, cfg.seed, start)
        elapsed = float(st.get("elapsed_s", 0.0))
        window = st.get("window") or {}
        n_acc, tok, partial_s = int(window.get("n", 0)), int(window.get("tokens", 0)), window.get("seconds", 0.0)
    if stop_at is not None and stop_at <= start:
        raise ValueError(f"stop_at={stop_at} is not after step {start}, where the resumed run stands")
    records = [r for r in read_metrics(out) if r["step"] <= start] if resume else []
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        ck.atomic_write_text(out / RUN_CONFIG, json.dumps(run_config, indent=2, sort_keys=True))
        ck.atomic_write_text(out / METRICS, "".join(json.dumps(r) + "\n" for r in records))
    barrier(info)
    net = model
    if info.enabled:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                                  else None)
    rows = _rows(cfg.batch_size, info)
    use_amp = cfg.amp and device.type == "cuda"
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else nullcontext()
    end = cfg.steps if stop_at is None else min(cfg.steps, stop_at)
    bar = None
    if cfg.progress and info.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=start, desc=title or "train", dynamic_ncols=True, mininterval=1.0)
    t0 = time.perf_counter() - partial_s
    for step in range(start, end):
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        batch = _move(train_batch(step, rows), device)
        with amp:
            loss = loss_fn(net, batch)
        optimizer_step(model, opt, loss, cfg.grad_clip, f"step {step}")
        acc += loss.detach().float()
        n_acc += 1
        tok += tokens_per_step or 0
        if bar is not None:
            dt = time.perf_counter() - t0
            bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{tok / max(dt, 1e-9):.0f}", refresh=False)
            bar.update(1)
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            dt = time.perf_counter() - t0
            elapsed += dt
            train_loss = all_reduce_mean(acc / n_acc, info).item()
            val_loss = evaluate(net, model, eval_batches, loss_fn, rows, device, info, amp)
            rec = {"step": step + 1, "train_loss": train_loss, "val_loss": val_loss,
                   "lr": lr_at(step, cfg), "tokens_per_s": tok / max(dt, 1e-9), "elapsed_s": elapsed}
            records.append(rec)
            acc.zero_()
            n_acc, tok = 0, 0
            if info.is_main:  # the record first: a kill before the checkpoint lands drops it on resume
                with open(out / METRICS, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
            _checkpoint(ckpt, model, opt, run_config, info, device, step + 1, elapsed, acc, n_acc, tok, 0.0)
            if info.is_main:
                from minrnn.train.plot import plot_losses

                plot_losses(records, out / CURVE, title)
                line = (f"step {step + 1}: train {train_loss:.4f}  val {val_loss:.4f}  "
                        f"{rec['tokens_per_s']:.0f} tok/s  {elapsed:.0f}s")
                if bar is not None:
                    bar.write(line)
                else:  # without the bar (e.g. a log file), still one line per evaluation
                    print(line, file=sys.stderr, flush=True)
            barrier(info)
            t0 = time.perf_counter()
    if start < end < cfg.steps and end % cfg.eval_every:  # stop_at between records: keep those steps
        _checkpoint(ckpt, model, opt, run_config, info, device, end, elapsed, acc, n_acc, tok,
                    time.perf_counter() - t0)
        barrier(info)
    if bar is not None:
        bar.close()
    return records


@torch.no_grad()
def evaluate(net: nn.Module, model: nn.Module, eval_batches: EvalFn, loss_fn: LossFn, rows: slice,
             device: torch.device, info: DistInfo, amp=None) -> float:
    """Mean loss over the fixed validation batches (averaged over processes)."""
    model.eval()
    total, n = torch.zeros((), device=device), 0
    with amp or nullcontext():
        for batch in eval_batches(rows):
            total += loss_fn(model, _move(batch, device)).float()
            n += 1
    model.train()
    return all_reduce_mean(total / max(n, 1), info).item()
