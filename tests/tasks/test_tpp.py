import numpy as np
import pytest
import torch

from minrnn.tasks.encoders import EncoderConfig
from minrnn.tasks.tpp import run
from minrnn.tasks.tpp.data import TPPData, collate, load_tpp
from minrnn.tasks.tpp.model import NeuralTPP


def _toy():
    times = [np.array([0.5, 1.0, 3.0]), np.array([2.0])]
    marks = [np.array([0, 2, 1]), np.array([1])]
    return TPPData(times, marks, 4.0, None, 3)


def test_load_real(data_dir):
    d = load_tpp("hawkes1", data_dir)
    assert len(d) == 1000 and d.t_max == 100.0 and d.nll is not None and d.marks is None
    w = load_tpp("wikipedia", data_dir)
    assert len(w) == 1000 and w.num_marks == 8227
    assert all(np.all(np.diff(t) >= 0) for t in w.times[:50])
    tr, va, te = d.split()
    assert (len(tr), len(va), len(te)) == (600, 200, 200)
    with pytest.raises(ValueError, match="name"):
        load_tpp("mimic", data_dir)


def test_collate_layout():
    b = collate(_toy(), [0, 1])
    torch.testing.assert_close(b.tau[0], torch.tensor([0.5, 0.5, 2.0, 1.0]))
    assert b.event_mask[0].tolist() == [True, True, True, False]
    assert b.surv_mask[0].tolist() == [False, False, False, True]
    assert b.surv_mask[1].tolist() == [False, True, False, False] and b.tau[1, 1].item() == 2.0
    assert b.marks_in[0].tolist() == [0, 1, 3, 2] and b.mark_target[0, :3].tolist() == [0, 2, 1]
    t = collate(_toy(), [0], max_len=2)  # truncated: no survival term
    assert t.tau.shape == (1, 3) and not t.surv_mask.any()


def test_without_a_window_the_first_event_only_starts_the_clock():
    """No t_max (absolute timestamps, e.g. wikipedia): t_1 is a date, not a gap, so it is neither a target nor
    an input value, nor part of the log-gap statistics."""
    from minrnn.tasks.tpp.data import time_stats

    toy = _toy()
    data = TPPData([t + 1e6 for t in toy.times], toy.marks, None, None, 3)
    b = collate(data, [0, 1], tau_floor=0.25)
    torch.testing.assert_close(b.tau[0, :3], torch.tensor([0.25, 0.5, 2.0]))
    assert b.event_mask[0].tolist() == [False, True, True, False] and not b.event_mask[1].any()
    assert not b.surv_mask.any()
    mean, std, floor, max_tau = time_stats(data)
    assert max_tau == 2.0 and floor == 0.25 and abs(mean - np.log([0.5, 2.0]).mean()) < 1e-9


@pytest.mark.parametrize("kind", ["aaren", "transformer"])
def test_model_density_and_causality(kind):
    torch.manual_seed(0)
    m = NeuralTPP(EncoderConfig(kind=kind, d_model=8, nhead=2, dim_feedforward=16, layers=1), 3, 4).eval()
    b = collate(_toy(), [0, 1])
    terms = m.terms(b)
    assert terms["log_p"].shape == (2, 4) and terms["mark_pred"].shape == (2, 4)
    # the mixture density integrates to one over tau in (0, inf)
    grid = torch.logspace(-6, 6, 20001)
    one = collate(TPPData([np.array([1.0])], [np.array([0])], None, None, 3), [0])
    h = m.history(one)[:, :1].expand(1, len(grid), -1)
    logw, mu, ls = m._mixture(h)
    y = ((grid.log() - m.log_mean) / m.log_std).view(1, -1, 1)
    dens = torch.logsumexp(logw - 0.5 * ((y - mu) / ls.exp()) ** 2 - ls - 0.919,
                           -1) - m.log_std.log() - grid.log()
    assert abs(torch.trapezoid(dens.exp().squeeze(0), grid).item() - 1.0) < 0.02
    # changing a later event does not change earlier terms
    b2 = collate(_toy(), [0, 1])
    b2.tau[0, 2] = 0.01
    torch.testing.assert_close(m.terms(b2)["log_p"][0, :2], terms["log_p"][0, :2])


def test_two_step_training_smoke(data_dir):
    r = run({"dataset": "taxi", "data_dir": str(data_dir), "max_len": 16, "eval_max_len": 16,
             "encoder": {"kind": "aaren", "d_model": 8, "nhead": 2, "dim_feedforward": 16, "layers": 1},
             "fit": {"epochs": 1, "batch_size": 8, "max_steps": 2}})
    assert np.isfinite(r["test_nll_per_event"]) and r["test_rmse"] > 0 and r["n_test"] == 37


@pytest.mark.parametrize("times, offsets, why", [
    ([1.0, 3.0, 2.0, 5.0], [0, 4], "sorted within each sequence"),
    ([1.0, 12.0], [0, 2], "<= t_max"),
    ([-1.0, 2.0], [0, 2], ">= 0"),
    ([1.0, 2.0], [0, 3], "offsets must rise"),
])
def test_load_tpp_refuses_files_whose_gaps_would_be_negative(tmp_path, times, offsets, why):
    """Unsorted or out-of-window times made negative gaps that collate floored silently."""
    f = tmp_path / "tpp" / "triangular-tpp" / "taxi.npz"
    f.parent.mkdir(parents=True)
    np.savez(f, arrival_times=np.array(times), offsets=np.array(offsets), t_max=np.array(10.0))
    with pytest.raises(ValueError, match=f"TPP dataset 'taxi'.*{why}"):
        load_tpp("taxi", tmp_path)
    # a new sequence may start earlier than the previous one ended
    np.savez(f, arrival_times=np.array([5.0, 6.0, 1.0]), offsets=np.array([0, 2, 3]), t_max=np.array(10.0))
    assert len(load_tpp("taxi", tmp_path)) == 2


def test_load_tpp_refuses_nan_times(tmp_path):
    f = tmp_path / "tpp" / "triangular-tpp" / "taxi.npz"
    f.parent.mkdir(parents=True)
    np.savez(f, arrival_times=np.array([1.0, np.nan]), offsets=np.array([0, 2]), t_max=np.array(10.0))
    with pytest.raises(ValueError, match="must be finite"):
        load_tpp("taxi", tmp_path)
