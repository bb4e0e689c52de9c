"""CausalLM: token embedding -> Backbone -> vocabulary head, with sampling that steps the recurrence."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import torch
from torch import nn

from minrnn.models.backbone import Backbone
from minrnn.models.config import BackboneConfig, dataclass_from_dict


@dataclass
class LMConfig:
    """A causal language model: ``vocab_size`` tokens, a :class:`BackboneConfig`, tied or untied head."""

    vocab_size: int = 256
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    tie_weights: bool = False

    def __post_init__(self):
        if isinstance(self.backbone, dict):
            self.backbone = BackboneConfig.from_dict(self.backbone)
        if not isinstance(self.vocab_size, int) or self.vocab_size <= 0:
            raise ValueError(f"vocab_size must be a positive int, got {self.vocab_size!r}")

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


def sample_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """logits (B, V) -> token ids (B,). temperature 0 is greedy; top_k keeps the k best; top_p keeps the
    smallest set of tokens whose probability reaches p (nucleus sampling)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
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
        ids = torch.as_tensor(prompt_ids, dtype=torch.long, device=self.embed.weight.device)
        squeeze = ids.dim() == 1
        if squeeze:
            ids = ids.unsqueeze(0)
        if ids.dim() != 2 or ids.shape[1] < 1:
            raise ValueError(f"prompt_ids must be (T,) or (B, T) with T >= 1, got shape {tuple(ids.shape)}")
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
        was_training = self.training
        self.eval()
        logits, state = self.forward(ids)
        logits = logits[:, -1]
        out = [ids]
        for i in range(max_new_tokens):
            nxt = sample_logits(logits, temperature, top_k, top_p, generator)
            out.append(nxt.unsqueeze(1))
            if i + 1 < max_new_tokens:
                logits, state = self.step(nxt, state)
        self.train(was_training)
        res = torch.cat(out, dim=1)
        return res.squeeze(0) if squeeze else res
