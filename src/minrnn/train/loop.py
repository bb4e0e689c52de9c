"""A task-agnostic training loop: AdamW, warmup + cosine, grad clipping, periodic eval, checkpoints, resume,
metrics.jsonl, a loss-curve PNG, tqdm progress, and data parallelism under ``torchrun``.

Determinism: the training batch of step s is a pure function of (seed, s), and the optimizer and RNG states
are checkpointed, so a resumed CPU run reproduces the uninterrupted run's losses exactly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

from minrnn.train import checkpoint as ck
from minrnn.train.config import TrainConfig, lr_at
from minrnn.train.core import optimizer_step
from minrnn.train.distributed import DistInfo, all_reduce_mean, barrier, setup, teardown

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
    """AdamW; weight decay on matrices (dim >= 2) only, never on parameters marked ``_no_weight_decay``."""
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.dim() < 2 or getattr(p, "_no_weight_decay", False) else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def read_metrics(out_dir: Path) -> list[dict]:
    p = Path(out_dir) / METRICS
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


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
    run there is only continued with ``resume=True`` (from its last checkpoint); otherwise ValueError and
    nothing is overwritten. ``stop_at`` ends the run after that many steps (as if killed after a checkpoint).

    Each record: step, train_loss (mean since the previous record), val_loss, lr, tokens_per_s (training
    throughput since the previous record), elapsed_s (cumulative training time, evaluation excluded).
    """
    out = Path(out_dir)
    device = resolve_device(cfg.device)
    info = setup(device.type)
    try:
        return _fit(model, cfg, out, device, info, train_batch, eval_batches, loss_fn, run_config,
                    tokens_per_step, resume, stop_at, title)
    finally:
        teardown(info)


def _fit(model, cfg, out, device, info, train_batch, eval_batches, loss_fn, run_config, tokens_per_step,
         resume, stop_at, title):
    ckpt = out / CKPT_DIR
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    has_run = (ckpt / ck.WEIGHTS).exists()
    if has_run and not resume:
        raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if resume and not has_run:
        raise ValueError(f"--resume: no checkpoint in {ckpt}")
    model.to(device)
    opt = make_optimizer(model, cfg)
    start, elapsed = 0, 0.0
    torch.manual_seed(cfg.seed + 7919 * info.rank)
    if resume:
        start = ck.load_weights(ckpt, model)
        st = ck.load_trainer_state(ckpt, start)
        opt.load_state_dict(st["optimizer"])
        torch.set_rng_state(st["rng_cpu"])
        if device.type == "cuda" and st.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(st["rng_cuda"].cpu(), device)
        elapsed = float(st.get("elapsed_s", 0.0))
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
    acc, n_acc, t0, tok = torch.zeros((), device=device), 0, time.perf_counter(), 0
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
            if info.is_main:
                with open(out / METRICS, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
                trainer = {"optimizer": opt.state_dict(), "rng_cpu": torch.get_rng_state(),
                           "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                           "elapsed_s": elapsed}
                ck.save_checkpoint(ckpt, model, run_config, trainer, step=step + 1)
                from minrnn.train.plot import plot_losses

                plot_losses(records, out / CURVE, title)
                if bar is not None:
                    bar.write(f"step {step + 1}: train {train_loss:.4f}  val {val_loss:.4f}  "
                              f"{rec['tokens_per_s']:.0f} tok/s  {elapsed:.0f}s")
            barrier(info)
            acc.zero_()
            n_acc, t0, tok = 0, time.perf_counter(), 0
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
