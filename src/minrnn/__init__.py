"""minrnn: parallel-trainable recurrent models (minGRU, minLSTM, Aaren) for PyTorch.

Layers are exported here; the ops are in :mod:`minrnn.functional`.
"""

from minrnn import functional
from minrnn.layers import Aaren, AarenEncoderLayer, MinGRU, MinLSTM

__version__ = "0.1.0"
__all__ = ["Aaren", "AarenEncoderLayer", "MinGRU", "MinLSTM", "functional", "__version__"]
