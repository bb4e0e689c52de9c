"""Training: the loop (:func:`fit`), its config, checkpoints, and torchrun data parallelism."""

from minrnn.train.checkpoint import CheckpointError, load_weights, read_config, save_checkpoint
from minrnn.train.config import TrainConfig, lr_at
from minrnn.train.loop import evaluate, fit, make_optimizer, read_metrics, resolve_device

__all__ = ["CheckpointError", "TrainConfig", "evaluate", "fit", "load_weights", "lr_at", "make_optimizer",
           "read_config", "read_metrics", "resolve_device", "save_checkpoint"]
