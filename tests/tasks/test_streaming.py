import json

import pytest
import torch
from torch import nn

from minrnn.bench import streaming
from minrnn.bench.kv_cache import transformer_step


@pytest.mark.parametrize("norm_first", [True, False])
def test_kv_cache_matches_causal_forward(norm_first):
    torch.manual_seed(0)
    layers = nn.ModuleList(nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True,
                                                      norm_first=norm_first) for _ in range(2)).eval()
    x = torch.randn(2, 40, 16)
    mask = nn.Transformer.generate_square_subsequent_mask(40)
    with torch.no_grad():
        ref = x
        for layer in layers:
            ref = layer(ref, src_mask=mask)
        cache, outs = None, []
        for t in range(40):
            y, cache = transformer_step(layers, x[:, t], cache)
            outs.append(y)
    torch.testing.assert_close(torch.stack(outs, 1), ref, rtol=1e-4, atol=1e-4)
    assert cache.length == 40 and cache.cache_bytes() == 2 * 2 * 2 * 40 * 16 * 4


def test_stream_memory_constant_vs_linear():
    a = streaming.stream("aaren", 64, 16, 2, 32, 2)
    t = streaming.stream("transformer", 64, 16, 2, 32, 2)
    sa = [p["state_bytes"] for p in a["points"]]
    st = [p["state_bytes"] for p in t["points"]]
    assert len(set(sa)) == 1
    assert st[-1] == 64 * st[0]
    with pytest.raises(ValueError, match="kind"):
        streaming.stream("lstm", 4, 8, 2, 8, 1)


def test_main_writes_json_and_plots(tmp_path):
    rc = streaming.main(["--max-tokens", "32", "--d-model", "16", "--nhead", "2", "--dim-feedforward", "16",
                         "--layers", "1", "--out-dir", str(tmp_path)])
    assert rc == 0
    doc = json.loads((tmp_path / "streaming.json").read_text())
    assert [r["kind"] for r in doc["runs"]] == ["aaren", "transformer"]
    assert (tmp_path / "streaming_memory.png").exists() and (tmp_path / "streaming_time.png").exists()


def test_peak_rss_positive():
    assert streaming.peak_rss_bytes() > 10 * 2**20
