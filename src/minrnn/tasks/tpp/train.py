"""Train/evaluate a neural TPP with a causal Aaren or Transformer history encoder.

Metrics on the test split (last 20% of sequences):
- ``nll_per_event``: (time + mark) NLL summed over test sequences / number of test events;
  ``time_nll_per_event``/``mark_nll_per_event`` split it; the time part includes the survival term
  -log S(t_max - t_n) when the file has ``t_max``.
- ``nll_normalized``: mean over test sequences of time NLL / mean events per sequence of the whole file, the
  normalisation of ``true_nll`` (the mean of the file's ``nll`` over the same sequences, synthetic sets only).
- ``rmse``: sqrt(mean (E[tau_{i+1} | history] - tau_{i+1})^2) over test events, E[tau] clipped to the largest
  train gap; ``mark_accuracy``: top-1 accuracy of the next mark (marked sets).

CLI: ``minrnn train tpp --dataset hawkes1 --model aaren --epochs 10``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from minrnn.tasks.checks import check_ints
from minrnn.tasks.encoders import EncoderConfig, count_parameters
from minrnn.tasks.fit import FitConfig, add_common_args, common_from_args, fit, write_result
from minrnn.tasks.tpp.data import TPP_DATASETS, TPPData, collate, load_tpp, time_stats
from minrnn.tasks.tpp.model import NeuralTPP
from minrnn.train.core import seed_everything


@dataclass
class TPPConfig:
    dataset: str = "hawkes1"
    encoder: dict = field(default_factory=lambda: {"kind": "aaren", "d_model": 64, "nhead": 4,
                                                   "dim_feedforward": 128, "layers": 2})
    fit: dict = field(default_factory=lambda: {"epochs": 20, "lr": 1e-3, "batch_size": 32, "patience": 5})
    components: int = 8
    max_len: int = 256             # training sequences are truncated to their first max_len events
    eval_max_len: int | None = None  # None: evaluate whole sequences
    max_train_seqs: int = 0        # 0: all training sequences
    seed: int = 0
    data_dir: str | None = None
    device: str = "cpu"          # "cuda" to train on a GPU (CPU runs are the deterministic ones)

    def __post_init__(self):
        if self.dataset not in TPP_DATASETS:
            raise ValueError(f"dataset must be one of {TPP_DATASETS}, got {self.dataset!r}")
        check_ints(self, positive=("max_len", "components"), non_negative=("max_train_seqs", "seed"))
        if self.eval_max_len is not None:
            check_ints(self, positive=("eval_max_len",))


def _batches_of(data: TPPData, order, bs: int):
    for i in range(0, len(order), bs):
        yield [int(j) for j in order[i:i + bs]]


def evaluate(model: NeuralTPP, data: TPPData, norm_events: float, floor: float, max_tau: float,
             max_len: int | None = None, bs: int = 16, device="cpu") -> dict:
    """Test metrics (see module docstring). Sequences are batched by length to limit padding."""
    order = np.argsort([len(s) for s in data.times], kind="stable")
    tot_t, tot_m, n_ev, se, correct, per_seq = 0.0, 0.0, 0, 0.0, 0, []
    model.eval()
    with torch.no_grad():
        for idx in _batches_of(data, order, bs):
            b = collate(data, idx, max_len, floor).to(device)
            terms = model.terms(b)
            t_nll, m_nll = model.seq_nll(b, terms)
            tot_t, tot_m = tot_t + t_nll.sum().item(), tot_m + m_nll.sum().item()
            n_ev += int(b.event_mask.sum())
            per_seq += (t_nll / norm_events).tolist()
            err = (terms["mean_tau"].clamp(max=max_tau) - b.tau) * b.event_mask
            se += err.pow(2).sum().item()
            if "mark_pred" in terms:
                correct += ((terms["mark_pred"] == b.mark_target) & b.event_mask).sum().item()
    out = {"nll_per_event": (tot_t + tot_m) / max(n_ev, 1), "time_nll_per_event": tot_t / max(n_ev, 1),
           "mark_nll_per_event": tot_m / max(n_ev, 1) if model.mark_head is not None else None,
           "nll_normalized": float(np.mean(per_seq)), "rmse": float(np.sqrt(se / max(n_ev, 1))),
           "mark_accuracy": correct / max(n_ev, 1) if model.mark_head is not None else None, "events": n_ev}
    if data.nll is not None:
        out["true_nll"] = float(np.mean(data.nll))
    return out


def run(config: TPPConfig | dict) -> dict:
    cfg = TPPConfig(**config) if isinstance(config, dict) else config
    enc, fcfg = EncoderConfig.from_dict(cfg.encoder), FitConfig(**cfg.fit)
    seed_everything(cfg.seed)
    t0 = time.perf_counter()
    full = load_tpp(cfg.dataset, cfg.data_dir)
    train, val, test = full.split()
    if cfg.max_train_seqs:
        train = train.subset(np.arange(min(cfg.max_train_seqs, len(train))))
    mu, sd, floor, max_tau = time_stats(train)
    model = NeuralTPP(enc, full.num_marks, cfg.components, mu, sd).to(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)

    def batches(epoch):
        perm = torch.randperm(len(train), generator=gen).tolist()
        for idx in _batches_of(train, perm, fcfg.batch_size):
            yield collate(train, idx, cfg.max_len, floor).to(cfg.device)

    def loss_fn(b):
        t_nll, m_nll = model.seq_nll(b)
        return (t_nll + m_nll).sum() / b.event_mask.sum().clamp_min(1)

    def val_fn():
        return evaluate(model, val, full.mean_events, floor, max_tau, cfg.max_len,
                        device=cfg.device)["nll_per_event"]

    hist = fit(model, loss_fn, batches, val_fn, fcfg)
    res = evaluate(model, test, full.mean_events, floor, max_tau, cfg.eval_max_len, device=cfg.device)
    return {"task": "tpp", "dataset": cfg.dataset, "kind": enc.kind, "seed": cfg.seed,
            **{f"test_{k}": v for k, v in res.items()}, "best_val_nll_per_event": hist["best_val"],
            "epochs_run": hist["epochs_run"], "n_train": len(train), "n_test": len(test),
            "num_marks": full.num_marks, "t_max": full.t_max, "parameters": count_parameters(model),
            "config": asdict(cfg), "wall_seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minrnn train tpp", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="hawkes1", choices=TPP_DATASETS)
    p.add_argument("--components", type=int, default=8)
    p.add_argument("--max-len", type=int, default=256)
    p.add_argument("--eval-max-len", type=int, default=None)
    p.add_argument("--max-train-seqs", type=int, default=0)
    add_common_args(p, epochs=20, batch_size=32)
    args = p.parse_args(argv)
    c = common_from_args(args)
    cfg = TPPConfig(dataset=args.dataset, components=args.components, max_len=args.max_len,
                    eval_max_len=args.eval_max_len, max_train_seqs=args.max_train_seqs, **c)
    write_result(run(cfg), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
