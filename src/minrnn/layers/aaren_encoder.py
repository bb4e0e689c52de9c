"""``AarenEncoderLayer``: a drop-in for ``torch.nn.TransformerEncoderLayer`` with Aaren as the mixer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minrnn.layers.aaren import Aaren
from minrnn.ops.validation import check_tensor

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _is_causal_mask(mask: torch.Tensor, T: int) -> bool:
    """Whether ``mask`` (T, T) hides exactly the future: True / -inf above the diagonal, False / 0 elsewhere."""
    if not isinstance(mask, torch.Tensor) or mask.shape != (T, T):
        return False
    future = torch.ones(T, T, dtype=torch.bool, device=mask.device).triu(1)
    if mask.dtype == torch.bool:
        return bool(torch.equal(mask, future))
    return bool(torch.all(torch.where(future, mask == -torch.inf, mask == 0)))


class AarenEncoderLayer(nn.Module):
    """Same arguments and structure as ``nn.TransformerEncoderLayer`` (post- or pre-norm residual blocks, a
    feed-forward network, dropout), with self-attention replaced by :class:`minrnn.Aaren`. At (512, 8, 2048)
    it has 3,152,896 parameters: the Transformer layer's 3,152,384 plus the 512-dim learned query.

    Aaren is causal by construction: ``src_mask`` must be None or the causal mask itself (as
    ``nn.TransformerEncoder(..., mask=nn.Transformer.generate_square_subsequent_mask(T), is_causal=True)``
    passes it; float with -inf above the diagonal, or bool with True above it); ``is_causal`` is accepted for
    compatibility. ``src_key_padding_mask`` (B, T), True at padding, is supported only for right padding
    (padding after the real tokens), where causal outputs of real tokens never see it. The layer stacks in
    ``nn.TransformerEncoder`` (pass ``enable_nested_tensor=False``: Aaren takes no nested tensors).

    Like the torch layer, ``batch_first`` defaults to False: src is (T, B, d_model) unless batch_first=True.
    ``forward_with_state``/``step`` expose the recurrent form.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        fk = {"device": device, "dtype": dtype}
        self.self_attn = Aaren(d_model, nhead, bias=bias, **fk)
        self.self_attn.batch_first = batch_first  # read by nn.TransformerEncoder for this layer's layout
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias, **fk)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias, **fk)
        self.norm_first, self.batch_first = norm_first, batch_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"activation must be 'relu', 'gelu' or a callable, got {activation!r}")
            activation = _ACTIVATIONS[activation]
        self.activation = activation

    def _ff(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _block(self, x: torch.Tensor, mix) -> tuple[torch.Tensor, object]:
        if self.norm_first:
            y, state = mix(self.norm1(x))
            x = x + self.dropout1(y)
            return x + self._ff(self.norm2(x)), state
        y, state = mix(x)
        x = self.norm1(x + self.dropout1(y))
        return self.norm2(x + self._ff(x)), state

    def forward_with_state(self, src: torch.Tensor, state=None):
        """Batch-first src (B, T, d_model) -> (out (B, T, d_model), Aaren state)."""
        return self._block(src, lambda x: self.self_attn(x, state))

    def step(self, x_t: torch.Tensor, state=None):
        """x_t (B, d_model) -> (y_t (B, d_model), state): one token in O(1)."""
        return self._block(x_t, lambda x: self.self_attn.step(x, state))

    def _batch_first(self, src: torch.Tensor) -> torch.Tensor:
        """src as the caller's layout allows ((T, B, d), (B, T, d) with batch_first, or unbatched (T, d)),
        checked, as a batch-first (B, T, d_model) tensor."""
        layout = "(B, T, d_model)" if self.batch_first else "(T, B, d_model)"
        if not isinstance(src, torch.Tensor) or src.dim() not in (2, 3):
            check_tensor("src", src, 3, f"{layout} or unbatched (T, d_model)")  # raises with the shape
        check_tensor("src", src, src.dim(), layout)
        d = self.self_attn.d_model
        if src.shape[-1] != d:
            raise ValueError(f"src must have last dimension d_model={d}, got shape {tuple(src.shape)}")
        if src.dim() == 2:
            return src.unsqueeze(0)
        return src if self.batch_first else src.transpose(0, 1)

    @staticmethod
    def _padding(mask, x: torch.Tensor, unbatched: bool) -> torch.Tensor:
        """``src_key_padding_mask`` as a bool (B, T): it must be (B, T), or (T,) / (1, T) for unbatched src."""
        B, T = x.shape[:2]
        ok = isinstance(mask, torch.Tensor) and (tuple(mask.shape) == (B, T) or (unbatched and mask.shape == (T,)))
        if not ok:
            want = f"(T,) = ({T},) or (1, T)" if unbatched else f"(B, T) = ({B}, {T})"
            got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"src_key_padding_mask must have shape {want}, got {got}")
        return mask.to(torch.bool).reshape(B, T)

    def forward(self, src: torch.Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        """src: (T, B, d_model), (B, T, d_model) when batch_first, or unbatched (T, d_model) with a (T,)
        padding mask. Returns a tensor of the same shape."""
        x = self._batch_first(src)
        if x.shape[1] == 0:
            raise ValueError(f"src must have at least one time step (T >= 1), got shape {tuple(src.shape)}")
        if src_mask is not None and not _is_causal_mask(src_mask, x.shape[1]):
            raise ValueError("src_mask must be None or the causal mask: Aaren is causal by construction and "
                             "takes no other attention mask")
        out, _ = self.forward_with_state(x)
        if src_key_padding_mask is not None:
            out = out.masked_fill(self._padding(src_key_padding_mask, x, src.dim() == 2).unsqueeze(-1), 0.0)
        if src.dim() == 2:
            return out[0]
        return out if self.batch_first else out.transpose(0, 1)
