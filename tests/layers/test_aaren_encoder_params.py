from torch import nn

from minrnn import AarenEncoderLayer


def test_parameter_counts_match_paper_layer_size():
    aaren = sum(p.numel() for p in AarenEncoderLayer(512, 8, 2048).parameters())
    torch_layer = sum(p.numel() for p in nn.TransformerEncoderLayer(512, 8, 2048).parameters())
    assert aaren == 3_152_896
    assert torch_layer == 3_152_384
    assert aaren - torch_layer == 512  # the learned query token
