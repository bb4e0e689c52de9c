"""TrainConfig checks the type and range of every field, naming it as train.FIELD."""

import math

import pytest

from minrnn.train import TrainConfig


@pytest.mark.parametrize("field,value,match", [
    ("steps", "abc", "train.steps must be a positive int, got 'abc'"),
    ("steps", True, "train.steps must be a positive int"),
    ("steps", 10.0, "train.steps must be a positive int"),
    ("batch_size", 0, "train.batch_size must be a positive int"),
    ("context", -3, "train.context must be a positive int"),
    ("eval_every", None, "train.eval_every must be a positive int"),
    ("eval_batches", 1.5, "train.eval_batches must be a positive int"),
    ("warmup_steps", -1, "train.warmup_steps must be an int >= 0"),
    ("warmup_steps", False, "train.warmup_steps must be an int >= 0"),
    ("lr", "abc", "train.lr must be a positive number, got 'abc'"),
    ("lr", 0, "train.lr must be a positive number"),
    ("lr", True, "train.lr must be a positive number"),
    ("lr", math.inf, "train.lr must be a positive number"),
    ("lr", math.nan, "train.lr must be a positive number"),
    ("min_lr_ratio", "abc", r"train.min_lr_ratio must be a number in \[0, 1\]"),
    ("min_lr_ratio", 1.5, r"train.min_lr_ratio must be a number in \[0, 1\]"),
    ("weight_decay", -0.1, "train.weight_decay must be a number >= 0"),
    ("weight_decay", "0.1", "train.weight_decay must be a number >= 0"),
    ("beta1", "abc", r"train.beta1 must be a number in \[0, 1\)"),
    ("beta1", 1.0, r"train.beta1 must be a number in \[0, 1\)"),
    ("beta2", -0.5, r"train.beta2 must be a number in \[0, 1\)"),
    ("grad_clip", "abc", "train.grad_clip must be a number"),
    ("grad_clip", True, "train.grad_clip must be a number"),
    ("grad_clip", math.nan, "train.grad_clip must be a number"),
    ("seed", "abc", r"train.seed must be an int in \[0, 2\*\*32\), got 'abc'"),
    ("seed", 1.5, r"train.seed must be an int in \[0, 2\*\*32\)"),
    ("seed", True, r"train.seed must be an int in \[0, 2\*\*32\)"),
    ("seed", -1, r"train.seed must be an int in \[0, 2\*\*32\)"),
    ("seed", 2**32, r"train.seed must be an int in \[0, 2\*\*32\)"),
    ("device", "foo", "train.device must be 'auto', 'cpu' or 'cuda"),
    ("device", "cuda:x", "train.device must be 'auto', 'cpu' or 'cuda"),
    ("device", 0, "train.device must be 'auto', 'cpu' or 'cuda"),
    ("amp", "no", "train.amp must be a bool"),
    ("amp", 1, "train.amp must be a bool"),
    ("progress", "false", "train.progress must be a bool"),
])
def test_train_config_rejects_bad_fields(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})
    with pytest.raises(ValueError, match=match):
        TrainConfig.from_dict({field: value})


def test_train_config_accepts_valid_values():
    cfg = TrainConfig(lr=1, min_lr_ratio=0, weight_decay=0, beta1=0, beta2=0.999, grad_clip=0, warmup_steps=0,
                      seed=0, device="cuda:1", amp=True, progress=False)
    assert cfg.lr == 1 and isinstance(cfg.lr, int)  # ints are kept where floats are expected
    assert TrainConfig(grad_clip=-1.0).grad_clip == -1.0  # <= 0 disables clipping
    assert TrainConfig(seed=2**32 - 1, device="auto").seed == 2**32 - 1
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
