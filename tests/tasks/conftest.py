"""If ``minrnn.models`` (branch product) is not merged yet, install a tiny stand-in so the task tests run.

The stand-in is a residual stack of MinGRU/MinLSTM layers with the BackboneConfig/Backbone contract of the
common brief; once the real module exists it is used unchanged.
"""

import sys
import types
from dataclasses import asdict, dataclass

import torch
from torch import nn

try:
    import minrnn.models  # noqa: F401
except ImportError:
    from minrnn import MinGRU, MinLSTM

    @dataclass
    class BackboneConfig:
        mixer: str = "mingru"
        d_model: int = 128
        n_layers: int = 2
        expansion: float = 1.0
        num_heads: int = 4
        conv_kernel: int = 0
        mlp: bool = True
        norm: str = "rmsnorm"
        dropout: float = 0.0

        def to_dict(self):
            return asdict(self)

    class Backbone(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            cls = MinLSTM if cfg.mixer == "minlstm" else MinGRU
            self.layers = nn.ModuleList(cls(cfg.d_model, cfg.d_model, expansion=cfg.expansion)
                                        for _ in range(cfg.n_layers))
            self.norm = nn.LayerNorm(cfg.d_model)

        def forward(self, x, state=None):
            states = []
            for i, layer in enumerate(self.layers):
                y, s = layer(x, None if state is None else state[i])
                x = x + y
                states.append(s)
            return self.norm(x), states

        def step(self, x_t, state=None):
            y, s = self.forward(x_t[:, None], state)
            return y[:, 0], s

    mod = types.ModuleType("minrnn.models")
    mod.Backbone, mod.BackboneConfig = Backbone, BackboneConfig
    mod.MIXERS = ("mingru", "minlstm", "aaren", "gru", "lstm", "transformer", "mamba")
    mod.STANDIN = True
    sys.modules["minrnn.models"] = mod
    torch.manual_seed(0)
