"""Host-side logic of the Triton backend that needs no kernel launch: launch-config validation, the cached batch
offsets, and what the registry says when an optional backend did not load."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("triton")

from minrnn.ops import registry  # noqa: E402
from minrnn.ops.triton.ops import LaunchConfig, _offsets  # noqa: E402


@pytest.mark.parametrize("kw, err, match", [
    (dict(num_warps=True), TypeError, "num_warps must be an int"),
    (dict(num_warps=4.0), TypeError, "num_warps must be an int"),
    (dict(num_stages=2.5), TypeError, "num_stages must be an int or None"),
    (dict(segment="128"), TypeError, "segment must be an int or None"),
    (dict(lookback="no"), TypeError, "lookback must be a bool"),
    (dict(block_t=2048, block_d=1024), ValueError, "at most 2\\*\\*20 elements"),
])
def test_launch_config_rejects_wrong_types_and_huge_blocks(kw, err, match):
    with pytest.raises(err, match=match):
        LaunchConfig(**kw)


def test_batch_offsets_first_made_under_inference_mode_still_serve_training():
    """The offsets are cached per shape: one first made inside inference_mode must still be a normal tensor,
    or every later call that needs gradients fails to save it for backward."""
    with torch.inference_mode():
        first = _offsets(3, 7, None, "cpu")
    assert not first.is_inference()
    again = _offsets(3, 7, None, "cpu")
    assert again is first and again.tolist() == [0, 7, 14, 21]
    cu = torch.tensor([0, 2, 5], dtype=torch.int64)
    assert _offsets(1, 5, cu, "cpu").tolist() == [0, 2, 5]


def test_a_backend_that_did_not_load_is_named_in_the_error(monkeypatch):
    registry._load()
    monkeypatch.setitem(registry._UNAVAILABLE, "minrnn.ops.faux", "ImportError: No module named 'faux'")
    x = torch.randn(1, 3, 2)
    with pytest.raises(ValueError, match=r"minrnn.ops.faux did not load \(ImportError"):
        registry.select("linear_scan", "faux", (x, x, None), lambda: (x, x, None))
