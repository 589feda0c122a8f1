"""Dropping, from one encoder layer on, the tokens a classifier's first token attends to least.

A sequence classifier of the BERT family reads its logits off the first token of its last layer.
Past the middle layers most other tokens add little to that token's vector, yet every layer
costs as much for them as for it, and attention costs more the longer the window. Here, before
encoder layer ``layer``, each window keeps its first token and the ``keep`` share of its other
tokens that the first token's query in that layer attends to most (the mean over heads of one
row of attention, computed once), in their original order; that layer and the ones after it run
on the kept tokens only. This is the attention-score pruning of PoWER-BERT (Goyal et al., 2020)
and LTP (Kim et al., 2022), applied at inference with a fixed share and no retraining, so it is
an approximation: how much it moves a model's scores is measured per model, on validation
sets, by ``eval/token_pruning.py``, which writes the setting into the model's
``defsum_config.json`` (``"token_pruning": {"layer": 2, "keep": 0.6, "precisions": ["int8"]}``:
applied only in the arithmetics it was measured in; ``null`` = off).

Each window keeps a share of its own tokens, so a window's scores do not depend on the windows
batched with it. Whether a model qualifies is not guessed from its name: :func:`prune_tokens`
patches the encoder only when it has the BERT layout, then checks on a small padded batch that
the patched loop with nothing dropped gives the same logits as before.

>>> from transformers import AutoModelForSequenceClassification  # doctest: +SKIP
>>> model = AutoModelForSequenceClassification.from_pretrained(path).eval()  # doctest: +SKIP
>>> prune_tokens(model, layer=3, keep=0.5)  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import torch

from defsum.first_token import keep_if_same_logits, probe_inputs

log = logging.getLogger(__name__)

MIN_TOKENS = 16
"""Windows of at most this many tokens are never pruned, and no window keeps fewer."""


def _encoder(model: Any) -> Any | None:
    """The encoder of a BERT-layout model (a ``layer`` list of layers with ``attention.self``
    query and key projections), or None when it has another layout."""
    encoder = getattr(getattr(model, "base_model", None), "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, torch.nn.ModuleList) or len(layers) < 2:
        return None
    for layer in layers:
        own = getattr(getattr(layer, "attention", None), "self", None)
        if not (all(isinstance(getattr(own, name, None), torch.nn.Module) for name in ("query", "key"))
                and isinstance(getattr(own, "attention_head_size", None), int)
                and not getattr(layer, "is_decoder", False)):
            return None
    return encoder


ARITHMETICS = ("fp32", "bf16", "int8")


def layer_count(model: Any) -> int:
    """Encoder layers of a model this module can prune (0 for another layout).

    >>> layer_count(torch.nn.Linear(2, 2))
    0
    """
    encoder = _encoder(model)
    return 0 if encoder is None else len(encoder.layer)


def check_setting(setting: Any, n_layers: int | None, where: str = "token_pruning") -> None:
    """Raise ValueError unless ``setting`` is None or ``{"layer": L, "keep": K, "precisions": [...]}``
    with L in [1, n_layers - 1] (not checked when ``n_layers`` is None), K in (0, 1] and the
    precisions (optional; default all) among fp32, bf16 and int8.

    >>> check_setting({"layer": 3, "keep": 0.5, "precisions": ["int8"]}, 6)
    """
    if setting is None:
        return
    if not isinstance(setting, dict) or not {"layer", "keep"} <= set(setting) <= {"layer", "keep", "precisions"}:
        raise ValueError(f'{where} must be null or {{"layer": L, "keep": K, "precisions": [...]}}, got {setting!r}')
    layer, keep = setting["layer"], setting["keep"]
    if isinstance(layer, bool) or not isinstance(layer, int) or layer < 1 or (n_layers is not None and layer >= n_layers):
        top = "" if n_layers is None else f" to {n_layers - 1} (the model has {n_layers} layers)"
        raise ValueError(f"{where}: layer must be an integer from 1{top}, got {layer!r}")
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0.0 < keep <= 1.0:
        raise ValueError(f"{where}: keep must be a share in (0, 1], got {keep!r}")
    precisions = setting.get("precisions", list(ARITHMETICS))
    if not isinstance(precisions, list) or not precisions or set(precisions) - set(ARITHMETICS):
        raise ValueError(f"{where}: precisions must be a non-empty list of {list(ARITHMETICS)}, got {precisions!r}")


def applies(setting: dict[str, Any] | None, precision: str) -> bool:
    """Whether ``setting`` prunes in ``precision`` (it names the arithmetics it was measured in).

    >>> applies({"layer": 2, "keep": 0.6, "precisions": ["int8"]}, "bf16")
    False
    """
    return setting is not None and precision in setting.get("precisions", ARITHMETICS)


def _valid_keys(mask: torch.Tensor | None, batch: int, length: int, device: Any) -> torch.Tensor:
    """(batch, length) booleans: which key positions a 4-D attention mask lets the first query see."""
    if mask is None:
        return torch.ones((batch, length), dtype=torch.bool, device=device)
    row = mask[:, 0, 0, :] if mask.dim() == 4 else mask
    if row.dtype == torch.bool:
        return row.expand(batch, length)
    return (row == 0).expand(batch, length)  # an additive mask: 0 where a key is seen


def _importance(layer: Any, hidden: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(batch, length): the first token's attention over the keys in ``layer``, mean over heads."""
    attn = layer.attention.self
    batch = hidden.shape[0]
    shape = (batch, -1, attn.num_attention_heads, attn.attention_head_size)
    query = attn.query(hidden[:, :1]).view(*shape).transpose(1, 2)
    key = attn.key(hidden).view(*shape).transpose(1, 2)
    scale = getattr(attn, "scaling", attn.attention_head_size ** -0.5)
    scores = (query @ key.transpose(-1, -2)).float()[:, :, 0] * scale  # (batch, heads, length)
    scores = scores.masked_fill(~valid[:, None, :], float("-inf"))
    return scores.softmax(-1).mean(1)


def _prune(layer: Any, hidden: torch.Tensor, mask: torch.Tensor | None, keep: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``hidden`` and ``mask`` cut to each window's first token and its ``keep`` share of the
    others, ranked by the first token's attention in ``layer``; positions stay in their order."""
    batch, length, _ = hidden.shape
    valid = _valid_keys(mask, batch, length, hidden.device)
    counts = valid.sum(-1)
    # ceil(count x keep) in float32, as measured: where the product is whole it can round up one more
    kept = torch.clamp(torch.ceil(counts.float() * keep).long(), min=1)
    kept = torch.maximum(kept, torch.minimum(counts, torch.tensor(MIN_TOKENS, device=counts.device)))
    width = int(kept.max())
    if width >= length:
        return hidden, mask
    rank = _importance(layer, hidden, valid)
    rank[:, 0] = float("inf")  # the first token is the one the logits read
    order = rank.topk(width, dim=-1).indices
    own = torch.arange(width, device=hidden.device)[None, :] < kept[:, None]  # within this window's share
    positions, sort = order.sort(-1)
    own = own.gather(1, sort)
    hidden = hidden.gather(1, positions[..., None].expand(-1, -1, hidden.shape[-1]))
    if mask is None and bool(own.all()):
        return hidden, None
    if mask is None:
        return hidden, own[:, None, None, :].expand(batch, 1, width, width)
    mask = mask.expand(batch, mask.shape[1], mask.shape[2], length) if mask.dim() == 4 else mask[:, None, None, :]
    if mask.shape[2] > 1:
        mask = mask.gather(2, positions[:, None, :, None].expand(-1, mask.shape[1], -1, length))
    mask = mask.gather(3, positions[:, None, None, :].expand(-1, mask.shape[1], mask.shape[2], -1))
    if mask.dtype == torch.bool:
        return hidden, mask & own[:, None, None, :]
    return hidden, mask.masked_fill(~own[:, None, None, :], torch.finfo(mask.dtype).min)


def _pruned_forward(self: Any, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                    *args: Any, **kwargs: Any) -> Any:
    """The encoder's loop over its layers, pruning before layer ``self._defsum_pruning[0]``.
    In training mode (dropout) the encoder runs as its class defines it."""
    layer_index, keep = self._defsum_pruning
    if self.training or len(args) > 1:  # dropout, or positional arguments this loop does not know
        return type(self).forward(self, hidden_states, attention_mask, *args, **kwargs)
    from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions

    encoder_states = args[0] if args else kwargs.pop("encoder_hidden_states", None)
    kwargs.pop("use_cache", None)
    for i, layer in enumerate(self.layer):
        if i == layer_index and keep < 1.0 and hidden_states.shape[1] > MIN_TOKENS:
            hidden_states, attention_mask = _prune(layer, hidden_states, attention_mask, keep)
        hidden_states = layer(hidden_states, attention_mask, encoder_states, **kwargs)
    return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=hidden_states)


def prune_tokens(model: Any, layer: int, keep: float) -> bool:
    """Make ``model`` (a float sequence classifier in eval mode) drop all but the ``keep`` share of
    each window's tokens before encoder layer ``layer``; return whether it did.

    The patch replaces the encoder's ``forward`` on this instance only (weights untouched, so
    saving writes the same files). It is kept only when the patched loop, run with nothing
    dropped, gives the model's own logits on a probe batch. Like :mod:`defsum.first_token`, it
    changes other outputs: hidden states from ``layer`` on hold the kept positions only.
    """
    encoder = _encoder(model)
    if encoder is None or model.training:
        return False
    check_setting({"layer": layer, "keep": keep}, len(encoder.layer))
    def inputs() -> dict[str, torch.Tensor]:
        return probe_inputs(model, 2 * MIN_TOKENS, MIN_TOKENS + 5)  # long enough to be pruned

    def patch() -> None:  # the patched loop, nothing dropped yet
        encoder._defsum_pruning = (layer, 1.0)
        encoder.forward = functools.partial(_pruned_forward, encoder)  # a partial pickles; a bound method would not

    if not keep_if_same_logits(model, inputs, patch, lambda: run_all_tokens(model), "token pruning"):
        return False
    encoder._defsum_pruning = (layer, keep)
    try:
        with torch.inference_mode():
            model(**inputs())  # the pruning itself runs on this layout
    except Exception as err:
        log.debug("token pruning not used: %s", err)
        run_all_tokens(model)
        return False
    return True


def run_all_tokens(model: Any) -> None:
    """Undo :func:`prune_tokens`: every layer sees every token again (a model that was never
    patched is left as it is).

    >>> run_all_tokens(torch.nn.Linear(2, 2))
    """
    encoder = _encoder(model)
    if encoder is not None:
        encoder.__dict__.pop("forward", None)
        encoder.__dict__.pop("_defsum_pruning", None)
