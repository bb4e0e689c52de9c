"""Data generators: selective copying and the seven formal-language tasks."""

import pytest
import torch

from minrnn.tasks.chomsky.generators import IGNORE, TASKS, generate
from minrnn.tasks.selective_copy import make_batch


def test_selective_copy_layout():
    g = torch.Generator().manual_seed(0)
    x, y = make_batch(4, 40, n_tokens=5, vocab=16, generator=g)
    assert x.shape == (4, 40) and y.shape == (4, 5)
    assert (x[:, -5:] == 15).all()                       # markers
    body = x[:, :-5]
    for b in range(4):
        data = body[b][body[b] != 0]
        assert data.tolist() == y[b].tolist()            # tokens appear in order, noise elsewhere
    assert ((y >= 1) & (y <= 14)).all()


def test_selective_copy_bad_args():
    with pytest.raises(ValueError, match="seq_len"):
        make_batch(2, 10, n_tokens=8)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_shapes_and_targets(task):
    g = torch.Generator().manual_seed(1)
    x, y = generate(task, 8, 12, g)
    spec = TASKS[task]
    n_out = 12 if spec.seq_output else 1
    assert x.shape == y.shape
    assert (y[:, :-n_out] == IGNORE).all() and (y[:, -n_out:] >= 0).all()
    assert (y[:, -n_out:] < spec.n_classes).all()
    assert (x < spec.vocab).all() and (x[:, -n_out:] == spec.n_symbols).all()


def test_labels_are_correct():
    g = torch.Generator().manual_seed(2)
    x, y = generate("parity_check", 64, 9, g)
    assert torch.equal(y[:, -1], x[:, :9].sum(1) % 2)
    x, y = generate("even_pairs", 64, 9, g)
    assert torch.equal(y[:, -1], (x[:, 0] == x[:, 8]).long())       # even #01+#10 <=> first == last
    x, y = generate("cycle_nav", 64, 9, g)
    pos = torch.zeros(64, dtype=torch.long)
    for t in range(9):
        pos = (pos + torch.tensor([0, 1, -1])[x[:, t]]) % 5
    assert torch.equal(y[:, -1], pos)
    x, y = generate("bucket_sort", 16, 9, g)
    assert torch.equal(y[:, -9:], x[:, :9].sort(1).values)
    x, y = generate("majority", 16, 9, g)
    for b in range(16):
        counts = torch.bincount(x[b, :9], minlength=64)
        assert counts[y[b, -1]] == counts.max()
    x, y = generate("majority_count", 16, 9, g)
    for b in range(16):
        assert y[b, -1] == torch.bincount(x[b, :9]).max()
    x, y = generate("missing_duplicate", 16, 10, g)
    w, copy = x[:, :5], x[:, 5:10]
    miss = copy == 3
    assert (miss.sum(1) == 1).all() and torch.equal(w[miss], y[:, -1])


def test_generator_errors():
    with pytest.raises(ValueError, match="task"):
        generate("nope", 2, 3)
    with pytest.raises(ValueError, match="length"):
        generate("parity_check", 2, 0)
