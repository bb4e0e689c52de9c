"""``torch.nn`` layers: MinGRU, MinLSTM, Aaren and AarenEncoderLayer, each with forward(x, state) and step()."""

from minrnn.layers.aaren import Aaren
from minrnn.layers.aaren_encoder import AarenEncoderLayer
from minrnn.layers.min_gru import MinGRU
from minrnn.layers.min_lstm import MinLSTM

__all__ = ["Aaren", "AarenEncoderLayer", "MinGRU", "MinLSTM"]
