"""Bad arguments of the model configs, Mamba, sample_logits and CausalLM.generate raise errors naming them."""

import math

import pytest
import torch

from minrnn.models import BackboneConfig, CausalLM, LMConfig, Mamba, sample_logits
from minrnn.models import lm as lm_module


@pytest.mark.parametrize("field,value,match", [
    ("mixer", 3, "model.mixer must be one of"),
    ("norm", "batchnorm", "model.norm must be one of"),
    ("d_model", True, "model.d_model must be a positive int"),
    ("d_model", 16.0, "model.d_model must be a positive int"),
    ("n_layers", 0, "model.n_layers must be a positive int"),
    ("num_heads", "4", "model.num_heads must be a positive int"),
    ("conv_kernel", True, "model.conv_kernel must be an int >= 0"),
    ("conv_kernel", -1, "model.conv_kernel must be an int >= 0"),
    ("expansion", True, "model.expansion must be a positive number"),
    ("expansion", "2", "model.expansion must be a positive number"),
    ("expansion", 0, "model.expansion must be a positive number"),
    ("expansion", math.nan, "model.expansion must be a positive number"),
    ("mlp", "false", "model.mlp must be a bool"),
    ("mlp", 1, "model.mlp must be a bool"),
    ("dropout", "abc", r"model.dropout must be a number in \[0, 1\), got 'abc'"),
    ("dropout", 1.0, "model.dropout must be a number in"),
    ("dropout", False, "model.dropout must be a number in"),
    ("backend", None, "model.backend must be a backend name"),
])
def test_backbone_config_rejects_bad_fields(field, value, match):
    with pytest.raises(ValueError, match=match):
        BackboneConfig(**{field: value})
    with pytest.raises(ValueError, match=match):
        BackboneConfig.from_dict({field: value})


def test_backbone_config_accepts_valid_values():
    cfg = BackboneConfig(mixer="mamba", d_model=16, expansion=2, dropout=0, conv_kernel=0, mlp=False)
    assert cfg.expansion == 2 and isinstance(cfg.expansion, int)  # ints stay ints (JSON round-trip unchanged)
    assert BackboneConfig(expansion=0.5, dropout=0.1).dropout == 0.1


def test_mamba_inner_width_must_be_positive():
    with pytest.raises(ValueError, match=r"model.expansion=0.01 .* inner width .* = 0"):
        BackboneConfig(mixer="mamba", d_model=16, expansion=0.01)
    BackboneConfig(mixer="mingru", d_model=16, expansion=0.01)  # mingru rounds its inner width up to 1
    with pytest.raises(ValueError, match=r"expand .*= 0.01 with d_model=16 gives an inner width .* = 0"):
        Mamba(16, expand=0.01)
    with pytest.raises(ValueError, match="expand"):
        Mamba(16, expand=math.inf)
    with pytest.raises(ValueError, match="d_model must be a positive int"):
        Mamba(0)
    assert Mamba(16, expand=1 / 16).d_inner == 1


@pytest.mark.parametrize("kwargs,match", [
    ({"vocab_size": True}, "model.vocab_size must be a positive int"),
    ({"vocab_size": 5.0}, "model.vocab_size must be a positive int"),
    ({"vocab_size": 0}, "model.vocab_size must be a positive int"),
    ({"tie_weights": "no"}, "model.tie_weights must be a bool"),
    ({"tie_weights": 0}, "model.tie_weights must be a bool"),
    ({"backbone": [1, 2]}, "model.backbone must be a BackboneConfig or a dict"),
    ({"backbone": {"mlp": "false"}}, "model.mlp must be a bool"),
])
def test_lm_config_rejects_bad_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LMConfig(**kwargs)


def _model(vocab=7):
    torch.manual_seed(0)
    return CausalLM(LMConfig(vocab_size=vocab, backbone=BackboneConfig(d_model=8, n_layers=1)))


@pytest.mark.parametrize("kwargs,match", [
    ({"temperature": -0.5}, "temperature must be a number >= 0"),
    ({"temperature": "hot"}, "temperature must be a number >= 0"),
    ({"temperature": math.nan}, "temperature must be a number >= 0"),
    ({"top_k": -1}, "top_k must be None or an int >= 0"),
    ({"top_k": 2.5}, "top_k must be None or an int >= 0"),
    ({"top_k": True}, "top_k must be None or an int >= 0"),
    ({"top_p": 1.5}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": 0}, r"top_p must be None or a number in \(0, 1\]"),
    ({"top_p": -0.1}, r"top_p must be None or a number in \(0, 1\]"),
])
def test_sample_logits_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_logits(torch.zeros(2, 5), **kwargs)


def test_sample_logits_valid_edge_settings():
    logits = torch.tensor([[0.0, 5.0, 1.0]])
    assert sample_logits(logits, temperature=0).tolist() == [1]
    assert sample_logits(logits, top_k=1).tolist() == [1]
    g = torch.Generator().manual_seed(0)
    assert sample_logits(logits, top_k=0, top_p=1.0, generator=g).shape == (1,)  # 0 / 1.0: no filtering
    with pytest.raises(ValueError, match=r"logits must be a tensor of shape \(B, V\)"):
        sample_logits(torch.zeros(5))


@pytest.mark.parametrize("max_new_tokens", [0, 3])
@pytest.mark.parametrize("kwargs,match", [
    ({"temperature": -1}, "temperature"),
    ({"top_k": -2}, "top_k"),
    ({"top_p": 2.0}, "top_p"),
    ({"top_p": 0.0}, "top_p"),
])
def test_generate_validates_before_running_the_model(kwargs, match, max_new_tokens, monkeypatch):
    model = _model()

    def boom(*a, **k):
        raise AssertionError("the model ran before the arguments were checked")

    monkeypatch.setattr(model, "forward", boom)
    with pytest.raises(ValueError, match=match):
        model.generate([1, 2], max_new_tokens, **kwargs)


@pytest.mark.parametrize("n", [-1, 2.0, True, "3"])
def test_generate_rejects_bad_max_new_tokens(n):
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 0"):
        _model().generate([1], n)


def test_generate_rejects_bad_prompts():
    model = _model(vocab=7)
    with pytest.raises(ValueError, match="prompt_ids must hold integer token ids, got dtype torch.float32"):
        model.generate(torch.tensor([1.7, 2.2]), 2)
    with pytest.raises(ValueError, match="integer token ids"):
        model.generate([1.5, 2.0], 2)
    with pytest.raises(ValueError, match="integer token ids"):
        model.generate(torch.tensor([True, False]), 2)
    with pytest.raises(ValueError, match=r"prompt_ids must lie in \[0, vocab_size=7\), got ids from 1 to 7"):
        model.generate([1, 7], 2)
    with pytest.raises(ValueError, match=r"prompt_ids must lie in \[0, vocab_size=7\)"):
        model.generate(torch.tensor([[0, -1]]), 0)
    with pytest.raises(ValueError, match=r"prompt_ids must be \(T,\) or \(B, T\) with T >= 1"):
        model.generate([], 2)
    with pytest.raises(ValueError, match=r"prompt_ids must be \(T,\) or \(B, T\)"):
        model.generate(torch.zeros(1, 2, 3, dtype=torch.long), 2)
    with pytest.raises(TypeError, match="prompt_ids must be a tensor or"):
        model.generate("abc", 2)


def test_generate_valid_prompts_unchanged():
    model = _model(vocab=7)
    out = model.generate(torch.tensor([0, 6], dtype=torch.int32), 3, temperature=0)
    assert out.dtype == torch.long and out.shape == (5,) and out[:2].tolist() == [0, 6]
    assert model.generate([[1, 2], [3, 4]], 0).tolist() == [[1, 2], [3, 4]]


def test_generate_restores_training_mode_when_sampling_fails(monkeypatch):
    model = _model().train()

    def fail(*a, **k):
        raise RuntimeError("sampling failed")

    monkeypatch.setattr(lm_module, "sample_logits", fail)
    with pytest.raises(RuntimeError, match="sampling failed"):
        model.generate([1, 2], 3)
    assert model.training
    monkeypatch.undo()
    model.generate([1, 2], 2)
    assert model.training
    model.eval().generate([1, 2], 2)
    assert not model.training


def test_baseline_mixer_arguments_are_checked():
    from minrnn.models import CausalSelfAttention, GRUMixer, Mamba

    for make, match in ((lambda: CausalSelfAttention(16, num_heads=0), "num_heads must be a positive int"),
                        (lambda: Mamba(16, dt_rank=0), "dt_rank must be 'auto' or a positive int"),
                        (lambda: Mamba(16, dt_min=0.0), "0 < dt_min <= dt_max"),
                        (lambda: GRUMixer(16, expansion=-2), "expansion must be a positive number")):
        with pytest.raises(ValueError, match=match):
            make()


def test_an_empty_sequence_through_the_conv_and_mamba():
    from minrnn.models import Backbone, BackboneConfig, Mamba

    y, _ = Backbone(BackboneConfig(d_model=16, conv_kernel=4, mixer="transformer"))(torch.randn(2, 0, 16))
    assert y.shape == (2, 0, 16)
    with pytest.raises(ValueError, match="at least one time step"):
        Mamba(16)(torch.randn(2, 0, 16))
