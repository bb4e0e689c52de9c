"""Neural TPP with a causal encoder (Transformer-Hawkes-style history) and an intensity-free head.

History: position j embeds event j as  e_j = W z_j + E[mark_j]  with z_j = (log tau_j - mu) / s (train
statistics; j = 0 is a start token with z = 0, mark index 0), and the causal encoder turns e_0..e_j into h_j.
Next gap (Shchur et al. 2020, LogNormMix): given h_j, log tau_{j+1} = mu + s y with
    y ~ sum_k w_k N(m_k, sigma_k^2),  (w, m, log sigma) = Linear(h_j)
so  log p(tau) = logsumexp_k(log w_k + log N(y; m_k, sigma_k)) - log s - log tau   (density in time units),
    log S(tau) = logsumexp_k(log w_k + log Phi(-(y - m_k) / sigma_k))                  (survival, last gap),
    E[tau]     = sum_k w_k exp(mu + s m_k + (s sigma_k)^2 / 2).
Marks: p(mark_{j+1} | h_j) = softmax(Linear(h_j)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from minrnn.tasks.encoders import CausalEncoder, EncoderConfig
from minrnn.tasks.tpp.data import Batch


class NeuralTPP(nn.Module):
    def __init__(self, enc: EncoderConfig, num_marks: int = 1, components: int = 8,
                 log_mean: float = 0.0, log_std: float = 1.0):
        super().__init__()
        if not isinstance(num_marks, int) or num_marks < 1:
            raise ValueError(f"num_marks must be a positive int, got {num_marks!r}")
        self.num_marks, self.components = num_marks, components
        self.register_buffer("log_mean", torch.tensor(float(log_mean)))
        self.register_buffer("log_std", torch.tensor(float(log_std)))
        d = enc.d_model
        self.time_embed = nn.Linear(1, d)
        self.mark_embed = nn.Embedding(num_marks + 1, d)
        self.encoder = CausalEncoder(enc)
        self.time_head = nn.Linear(d, 3 * components)
        self.mark_head = nn.Linear(d, num_marks) if num_marks > 1 else None

    def history(self, batch: Batch) -> torch.Tensor:
        """-> h (B, N+1, d): h_j encodes events 0..j."""
        z = (batch.tau.clamp_min(1e-30).log() - self.log_mean) / self.log_std
        z_in = F.pad(z[:, :-1], (1, 0))                      # input at j is tau_j (0 for the start token)
        return self.encoder(self.time_embed(z_in.unsqueeze(-1)) + self.mark_embed(batch.marks_in))

    def _mixture(self, h: torch.Tensor):
        logits, means, log_sig = self.time_head(h).chunk(3, dim=-1)
        return F.log_softmax(logits, -1), means, log_sig.clamp(-5.0, 3.0)

    def terms(self, batch: Batch) -> dict:
        """Per-position log p(tau), log S(tau), E[tau] and mark log-probs/predictions, all (B, N+1)."""
        h = self.history(batch)
        logw, m, log_sig = self._mixture(h)
        logtau = batch.tau.clamp_min(1e-30).log()
        y = ((logtau - self.log_mean) / self.log_std).unsqueeze(-1)
        sig = log_sig.exp()
        log_n = -0.5 * ((y - m) / sig) ** 2 - log_sig - 0.5 * math.log(2 * math.pi)
        log_p = torch.logsumexp(logw + log_n, -1) - self.log_std.log() - logtau
        log_s = torch.logsumexp(logw + torch.special.log_ndtr(-(y - m) / sig), -1)
        expo = (self.log_mean + self.log_std * m + 0.5 * (self.log_std * sig) ** 2).clamp(max=60.0)
        mean_tau = torch.logsumexp(logw + expo, -1).exp()
        out = {"log_p": log_p, "log_s": log_s, "mean_tau": mean_tau}
        if self.mark_head is not None:
            ml = F.log_softmax(self.mark_head(h), -1)
            out["mark_logp"] = ml.gather(-1, batch.mark_target.unsqueeze(-1)).squeeze(-1)
            out["mark_pred"] = ml.argmax(-1)
        return out

    def seq_nll(self, batch: Batch, terms: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(time NLL (B,), mark NLL (B,)) per sequence: -sum log p(tau_i) - log S(last gap), -sum log p(m)."""
        t = terms or self.terms(batch)
        ev, sv = batch.event_mask, batch.surv_mask
        time_nll = -(t["log_p"] * ev).sum(1) - (t["log_s"] * sv).sum(1)
        mark_nll = -(t["mark_logp"] * ev).sum(1) if "mark_logp" in t else torch.zeros_like(time_nll)
        return time_nll, mark_nll
