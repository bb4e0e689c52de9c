"""CausalLM: token embedding -> Backbone -> vocabulary head, with sampling that steps the recurrence."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import torch
from torch import nn

from minrnn.models.backbone import Backbone
from minrnn.models.config import BackboneConfig, dataclass_from_dict, is_int, is_number, require


@dataclass
class LMConfig:
    """A causal language model: ``vocab_size`` tokens, a :class:`BackboneConfig`, tied or untied head."""

    vocab_size: int = 256
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    tie_weights: bool = False

    def __post_init__(self):
        if isinstance(self.backbone, dict):
            self.backbone = BackboneConfig.from_dict(self.backbone)
        if not isinstance(self.backbone, BackboneConfig):
            raise ValueError(f"model.backbone must be a BackboneConfig or a dict, got {type(self.backbone).__name__}")
        require(is_int(self.vocab_size) and self.vocab_size > 0, "model.vocab_size", "a positive int",
                self.vocab_size)
        require(isinstance(self.tie_weights, bool), "model.tie_weights", "a bool (true or false)", self.tie_weights)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LMConfig:
        return dataclass_from_dict(cls, d, "LMConfig")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> LMConfig:
        return cls.from_dict(json.loads(s))


def check_sampling(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> None:
    """Raise ValueError unless temperature >= 0, top_k is None or an int >= 0 (0: off) and top_p is None or
    in (0, 1] (1: off)."""
    require(is_number(temperature) and temperature >= 0, "temperature", "a number >= 0 (0: greedy)", temperature)
    require(top_k is None or (is_int(top_k) and top_k >= 0), "top_k", "None or an int >= 0 (0: no top-k)", top_k)
    require(top_p is None or (is_number(top_p) and 0 < top_p <= 1), "top_p", "None or a number in (0, 1]", top_p)


def sample_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """logits (B, V) -> token ids (B,). temperature 0 is greedy; top_k keeps the k best (0 or None: all);
    top_p in (0, 1] keeps the smallest set of tokens whose probability reaches p (nucleus sampling; 1 or None:
    all). Tokens tied with the k-th best logit are kept too, so top_k may keep more than k."""
    check_sampling(temperature, top_k, top_p)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a tensor of shape (B, V), got {got}")
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    logits = (logits - logits.max(-1, keepdim=True).values) / temperature  # max first: a tiny temperature is greedy
    if top_k is not None and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, idx = logits.sort(dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= top_p  # tokens entirely past the nucleus
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, sorted_logits)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class CausalLM(nn.Module):
    """forward(ids (B,T) long, state=None) -> (logits (B,T,V), state);
    step(ids_t (B,), state) -> (logits (B,V), state).

    The recurrent mixers keep O(1) state per layer during generation; the transformer keeps a KV cache.
    """

    def __init__(self, cfg: LMConfig):
        super().__init__()
        if not isinstance(cfg, LMConfig):
            raise TypeError(f"cfg must be an LMConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        d = cfg.backbone.d_model
        self.embed = nn.Embedding(cfg.vocab_size, d)
        self.backbone = Backbone(cfg.backbone)
        self.head = nn.Linear(d, cfg.vocab_size, bias=False)
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.head.weight, std=0.02)
        if cfg.tie_weights:
            self.head.weight = self.embed.weight

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _check_ids(self, ids: torch.Tensor, ndim: int, desc: str) -> None:
        if not isinstance(ids, torch.Tensor) or ids.dim() != ndim or ids.dtype not in (torch.long, torch.int):
            got = (tuple(ids.shape), ids.dtype) if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise ValueError(f"ids must be an integer tensor of shape {desc}, got {got}")

    def forward(self, ids: torch.Tensor, state=None):
        self._check_ids(ids, 2, "(B, T)")
        h, state = self.backbone(self.embed(ids), state)
        return self.head(h), state

    def step(self, ids_t: torch.Tensor, state=None):
        self._check_ids(ids_t, 1, "(B,)")
        h, state = self.backbone.step(self.embed(ids_t), state)
        return self.head(h), state

    @torch.no_grad()
    def generate(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue ``prompt_ids`` ((T,) or (B, T), T >= 1) by ``max_new_tokens`` sampled tokens.

        The prompt is read in one parallel ``forward`` (prefill); each new token then costs one ``step``.
        Returns (B, T + max_new_tokens) (or 1-D for a 1-D prompt).
        """
        require(is_int(max_new_tokens) and max_new_tokens >= 0, "max_new_tokens", "an int >= 0", max_new_tokens)
        check_sampling(temperature, top_k, top_p)
        ids = self._prompt_tensor(prompt_ids)
        squeeze = ids.dim() == 1
        if squeeze:
            ids = ids.unsqueeze(0)
        was_training = self.training
        self.eval()
        try:
            logits, state = self.forward(ids)
            logits = logits[:, -1]
            out = [ids]
            for i in range(max_new_tokens):
                nxt = sample_logits(logits, temperature, top_k, top_p, generator)
                out.append(nxt.unsqueeze(1))
                if i + 1 < max_new_tokens:
                    logits, state = self.step(nxt, state)
        finally:
            self.train(was_training)
        res = torch.cat(out, dim=1)
        return res.squeeze(0) if squeeze else res

    def _prompt_tensor(self, prompt_ids) -> torch.Tensor:
        """``prompt_ids`` as a long tensor on the model's device; raises unless it is (T,) or (B, T) with T >= 1
        integer token ids in [0, vocab_size)."""
        try:
            ids = torch.as_tensor(prompt_ids)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"prompt_ids must be a tensor or (nested) list of int token ids, got "
                            f"{type(prompt_ids).__name__}: {e}") from None
        if ids.dim() not in (1, 2) or ids.shape[-1] < 1:
            raise ValueError(f"prompt_ids must be (T,) or (B, T) with T >= 1, got shape {tuple(ids.shape)}")
        if ids.dtype == torch.bool or ids.is_floating_point() or ids.is_complex():
            raise ValueError(f"prompt_ids must hold integer token ids, got dtype {ids.dtype}")
        if ids.numel():
            lo, hi = ids.min().item(), ids.max().item()
            if lo < 0 or hi >= self.cfg.vocab_size:
                raise ValueError(f"prompt_ids must lie in [0, vocab_size={self.cfg.vocab_size}), got ids from "
                                 f"{lo} to {hi}")
        return ids.to(device=self.embed.weight.device, dtype=torch.long)
