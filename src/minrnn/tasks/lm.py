"""Character-level language modelling: ``minrnn train lm``, ``minrnn eval DIR``, ``minrnn generate DIR``.

Config precedence: built-in defaults < ``--config FILE.json`` ({"model": {...}, "train": {...}}) < flags
< ``--set section.key=value``. ``model`` holds BackboneConfig fields plus ``tie_weights``; ``train`` holds
TrainConfig fields.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from minrnn.argtypes import positive_int
from minrnn.data import CharCorpus, CharVocab, resolve_text_source, sample_batch
from minrnn.devices import check_device, check_threads
from minrnn.models import BackboneConfig, CausalLM, LMConfig
from minrnn.tasks.overrides import apply_overrides, load_json_config
from minrnn.train import TrainConfig, fit, load_weights, read_config
from minrnn.train.checkpoint import CheckpointError, find_checkpoint, holds_run, leftovers
from minrnn.train.distributed import launch_rank
from minrnn.train.loop import CKPT_DIR

SECTIONS = ("model", "train")
DEFAULT_MODEL = {"mixer": "mingru", "d_model": 128, "n_layers": 3, "conv_kernel": 4, "mlp": True}
DEFAULT_TRAIN = {"steps": 1000, "batch_size": 32, "context": 128, "lr": 3e-3, "eval_every": 100,
                 "eval_batches": 8}  # warmup_steps defaults to min(50, steps // 10)
FLAGS = {  # argparse dest -> (section, key)
    "mixer": ("model", "mixer"), "d_model": ("model", "d_model"), "n_layers": ("model", "n_layers"),
    "conv_kernel": ("model", "conv_kernel"), "expansion": ("model", "expansion"),
    "num_heads": ("model", "num_heads"), "dropout": ("model", "dropout"),
    "steps": ("train", "steps"), "batch_size": ("train", "batch_size"), "context": ("train", "context"),
    "lr": ("train", "lr"), "warmup_steps": ("train", "warmup_steps"), "eval_every": ("train", "eval_every"),
    "eval_batches": ("train", "eval_batches"), "seed": ("train", "seed"), "device": ("train", "device"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minrnn train lm", description="Train a character-level language model.")
    p.add_argument("--data", help="a UTF-8 text file, or 'shakespeare' (MINRNN_DATA_DIR, cache, or download);"
                   " default: shakespeare, or the resumed run's file")
    p.add_argument("--out", required=True, help="output directory (checkpoint, metrics.jsonl, loss.png)")
    p.add_argument("--config", help="JSON file with 'model' and 'train' sections")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override, e.g. model.mixer=mamba or train.lr=1e-3 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--stop-at", type=positive_int, help="stop after this step (the schedule still spans --steps)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    g = p.add_argument_group("model/train shortcuts")
    g.add_argument("--mixer")
    for name, typ in (("d_model", int), ("n_layers", int), ("conv_kernel", int), ("expansion", float),
                      ("num_heads", int), ("dropout", float), ("steps", int), ("batch_size", int),
                      ("context", int), ("lr", float), ("warmup_steps", int), ("eval_every", int),
                      ("eval_batches", int), ("seed", int)):
        g.add_argument("--" + name.replace("_", "-"), dest=name, type=typ)
    g.add_argument("--device", help="auto, cpu or cuda")
    return p


def resolve_configs(args, stored: dict | None = None) -> tuple[BackboneConfig, dict, TrainConfig]:
    """Merge defaults (or the ``stored`` run's config when resuming), config file, flags and --set
    -> (BackboneConfig, LMConfig extras, TrainConfig)."""
    if stored is not None:
        model = {**stored["model"]["backbone"], "tie_weights": stored["model"].get("tie_weights", False)}
        # a bar turned off for the first part of a run is not off for the rest (unless --config/--set say so)
        cfg = {"model": model, "train": {**stored["train"], "progress": True}}
    else:
        cfg = {"model": dict(DEFAULT_MODEL), "train": dict(DEFAULT_TRAIN)}
    for sec, vals in load_json_config(args.config).items():
        if sec not in SECTIONS:
            raise ValueError(f"unknown config section {sec!r} in {args.config}; expected {SECTIONS}")
        if not isinstance(vals, dict):
            raise ValueError(f"config section {sec!r} must be an object")
        cfg[sec].update(vals)
    for dest, (sec, key) in FLAGS.items():
        if getattr(args, dest, None) is not None:
            cfg[sec][key] = getattr(args, dest)
    cfg = apply_overrides(cfg, args.set, SECTIONS)
    steps = cfg["train"].get("steps", 1)
    if "warmup_steps" not in cfg["train"] and isinstance(steps, int) and not isinstance(steps, bool):
        cfg["train"]["warmup_steps"] = min(50, steps // 10)  # a bad steps value is TrainConfig's to report
    model = dict(cfg["model"])
    tie = model.pop("tie_weights", False)
    backbone = BackboneConfig.from_dict(model)
    train = TrainConfig.from_dict(cfg["train"])
    if getattr(args, "no_progress", False):
        train.progress = False
    return backbone, {"tie_weights": tie}, train


def lm_loss(net, batch) -> torch.Tensor:
    x, y = batch
    logits, _ = net(x)
    return F.cross_entropy(logits.float().flatten(0, 1), y.flatten())


def batch_fns(corpus: CharCorpus, cfg: TrainConfig):
    """Training batch of step s from a generator seeded by (seed, s); fixed validation batches."""

    def train_batch(step: int, rows: slice):
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        return sample_batch(corpus.train, cfg.batch_size, cfg.context, g, rows)

    def eval_batches(rows: slice):
        g = torch.Generator().manual_seed(cfg.seed + 12345)
        for _ in range(cfg.eval_batches):
            yield sample_batch(corpus.val, cfg.batch_size, cfg.context, g, rows)

    return train_batch, eval_batches


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads is not None and check_threads(args.threads, allow_zero=True):
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    main_rank = launch_rank() == 0  # under torchrun, only rank 0 prints
    found = find_checkpoint(out / CKPT_DIR)
    if holds_run(out / CKPT_DIR) and not args.resume:  # checked before the data is read
        raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if found is None and args.resume:
        raise ValueError(f"--resume: no complete checkpoint in {out / CKPT_DIR}; run without --resume to start "
                         "afresh")
    if found is None and leftovers(out / CKPT_DIR) and main_rank:
        print(f"note: {out / CKPT_DIR} holds no complete checkpoint (the run was killed while writing its "
              "first); deleting the leftovers and starting afresh", file=sys.stderr)
    stored = read_config(found) if args.resume else None  # resume: the stored run is the base config
    backbone, extra, tcfg = resolve_configs(args, stored)
    path = resolve_text_source(args.data or (stored or {}).get("data") or "shakespeare")
    corpus = CharCorpus.from_file(path, context=tcfg.context)
    if args.resume and stored["vocab"] != corpus.vocab.to_dict():
        raise ValueError(f"--resume: data {str(path)!r} has a different vocabulary from the stored run")
    torch.manual_seed(tcfg.seed)
    lm_cfg = LMConfig(vocab_size=len(corpus.vocab), backbone=backbone, **extra)
    model = CausalLM(lm_cfg)
    run_config = {"task": "lm", "data": str(Path(path).resolve()), "model": lm_cfg.to_dict(),
                  "train": tcfg.to_dict(), "vocab": corpus.vocab.to_dict()}
    if main_rank:
        print(f"lm: {backbone.mixer} {model.num_parameters():,} params, data {path} "
              f"({len(corpus.train):,} train / {len(corpus.val):,} val chars, vocab {len(corpus.vocab)})",
              file=sys.stderr)
    train_batch, eval_batches = batch_fns(corpus, tcfg)
    records = fit(model, tcfg, out, train_batch=train_batch, eval_batches=eval_batches, loss_fn=lm_loss,
                  run_config=run_config, tokens_per_step=tcfg.batch_size * tcfg.context, resume=args.resume,
                  stop_at=args.stop_at, title=f"lm/{backbone.mixer}")
    if records and main_rank:
        r = records[-1]
        print(f"step {r['step']}: val_loss {r['val_loss']:.4f} nats/char ({r['elapsed_s']:.1f} s)")
    return 0


def load_run(run_dir: str | Path, device: str = "cpu", attempts: int = 5):
    """(model, run_config, vocab) from a run directory (or its checkpoint/ folder). A run that is training
    swaps its checkpoint folder now and then; a read that loses that race is retried."""
    for attempt in range(attempts):
        try:
            return _load_run(Path(run_dir), device)
        except (CheckpointError, FileNotFoundError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _load_run(d: Path, device: str):
    run_dir = d
    ckpt = find_checkpoint(d / CKPT_DIR, trainer=False) or (d / CKPT_DIR if (d / CKPT_DIR).is_dir() else d)
    cfg = read_config(ckpt)
    if cfg.get("task") != "lm":
        raise ValueError(f"{run_dir} holds a {cfg.get('task')!r} run, not an lm run")
    try:
        lm_cfg = LMConfig.from_dict(cfg["model"])
        vocab = CharVocab.from_dict(cfg["vocab"])
    except (KeyError, TypeError) as e:
        raise ValueError(f"checkpoint config in {ckpt} is missing {e}") from None
    model = CausalLM(lm_cfg)
    load_weights(ckpt, model)
    return model.to(device).eval(), cfg, vocab


def eval_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="minrnn eval", description="Validation loss of a trained lm run.")
    p.add_argument("run_dir")
    p.add_argument("--data", help="text file (default: the one the run was trained on)")
    p.add_argument("--full", action="store_true", help="every non-overlapping window of the val split")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    model, cfg, vocab = load_run(args.run_dir, check_device(args.device))
    tcfg = TrainConfig.from_dict(cfg["train"])
    path = resolve_text_source(args.data or cfg["data"])
    corpus = CharCorpus.from_file(path, context=tcfg.context)
    if corpus.vocab.chars != vocab.chars:
        raise ValueError(f"data {str(path)!r} has a different vocabulary from the run's")
    with torch.no_grad():
        if args.full:
            n = (len(corpus.val) - 1) // tcfg.context
            ids = corpus.val[: n * tcfg.context + 1]
            x, y = ids[:-1].view(n, tcfg.context), ids[1:].view(n, tcfg.context)
            total = 0.0
            for i in range(0, n, 64):
                xb, yb = x[i:i + 64].to(args.device), y[i:i + 64].to(args.device)
                total += lm_loss(model, (xb, yb)).item() * len(xb)
            loss = total / n
        else:
            _, eval_batches = batch_fns(corpus, tcfg)
            vals = [lm_loss(model, tuple(t.to(args.device) for t in b)).item()
                    for b in eval_batches(slice(None))]
            loss = sum(vals) / len(vals)
    print(f"val_loss {loss:.4f} nats/char ({loss / math.log(2):.4f} bits/char)")
    return 0


def generate_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="minrnn generate", description="Sample text from a trained lm run.")
    p.add_argument("run_dir")
    p.add_argument("--tokens", type=int, default=500, help="number of characters to generate")
    p.add_argument("--prompt", default=None,
                   help="text to continue (default: a newline, or the vocabulary's first character without one)")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int)
    p.add_argument("--top-p", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.tokens < 0:
        raise ValueError(f"--tokens must be >= 0, got {args.tokens}")
    model, _, vocab = load_run(args.run_dir, check_device(args.device))
    text = args.prompt or ("\n" if "\n" in vocab.stoi else vocab.chars[0])
    try:
        prompt = vocab.encode(text)
    except ValueError as e:
        raise ValueError(f"--prompt: {e}") from None
    g = torch.Generator(device=args.device).manual_seed(args.seed)
    out = model.generate(prompt, args.tokens, temperature=args.temperature, top_k=args.top_k,
                         top_p=args.top_p, generator=g)
    sys.stdout.write(vocab.decode(out[len(prompt):]) + "\n")
    return 0
