"""Models built from the layers: mixers, residual blocks, a Backbone and a causal LM.

``from minrnn.models import BackboneConfig, Backbone, build_mixer, MIXERS, LMConfig, CausalLM``
"""

from minrnn.models.backbone import Backbone
from minrnn.models.block import Block
from minrnn.models.config import MIXERS, BackboneConfig
from minrnn.models.lm import CausalLM, LMConfig, sample_logits
from minrnn.models.mamba import Mamba
from minrnn.models.mixers import build_mixer
from minrnn.models.rnn_baselines import GRUMixer, LSTMMixer
from minrnn.models.transformer import CausalSelfAttention

__all__ = ["MIXERS", "Backbone", "BackboneConfig", "Block", "CausalLM", "CausalSelfAttention", "GRUMixer",
           "LMConfig", "LSTMMixer", "Mamba", "build_mixer", "sample_logits"]
