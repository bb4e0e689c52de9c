"""The shared training pieces: seeding, the learning-rate schedule, the optimizer step."""

from __future__ import annotations

import math

import pytest
import torch

from minrnn.train.core import lr_factor, optimizer_step, seed_everything


def test_lr_factor_warmup_then_cosine():
    assert lr_factor(0, 100, warmup_steps=10) == pytest.approx(0.1)
    assert lr_factor(9, 100, warmup_steps=10) == pytest.approx(1.0)
    assert lr_factor(10, 100, warmup_steps=10, min_ratio=0.1) == pytest.approx(1.0)
    mid = 10 + 45
    assert lr_factor(mid, 100, warmup_steps=10, min_ratio=0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(100, 100, warmup_steps=10, min_ratio=0.1) == pytest.approx(0.1)
    assert lr_factor(500, 100, warmup_steps=10, min_ratio=0.1) == pytest.approx(0.1)  # clamped past the end
    assert lr_factor(50, 100, warmup_steps=10, cosine=False) == 1.0
    assert math.isclose(lr_factor(0, 1, warmup_steps=0, min_ratio=0.0), 1.0)


def test_optimizer_step_updates_and_clips():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    before = model.weight.detach().clone()
    loss = (model(torch.ones(1, 3)) * 1e6).sum()
    optimizer_step(model, opt, loss, grad_clip=1.0)
    step = (model.weight.detach() - before).norm()
    assert 0 < step <= 1.0 + 1e-6  # the clipped gradient (norm <= 1) times lr 1


def test_optimizer_step_refuses_a_nonfinite_loss_before_updating():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    loss = model(torch.ones(1, 2)).sum() * float("nan")
    with pytest.raises(FloatingPointError, match="at step 7"):
        optimizer_step(model, opt, loss, grad_clip=1.0, where="step 7")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_seed_everything_is_deterministic():
    g1 = seed_everything(3)
    a = (torch.rand(2), torch.rand(2, generator=g1))
    g2 = seed_everything(3)
    b = (torch.rand(2), torch.rand(2, generator=g2))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything(1.5)
