"""Loss-curve PNG from metrics records (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from pathlib import Path


def plot_losses(records: list[dict], path: Path, title: str = "") -> None:
    """Train/val loss against step; written atomically to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in records]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, [r["train_loss"] for r in records], marker="o", ms=3, label="train")
    ax.plot(steps, [r["val_loss"] for r in records], marker="o", ms=3, label="val")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
