"""Running a classifier's last encoder layer for the first token only.

A sequence classifier of the BERT family (BERT, MiniLM, RoBERTa, XLM-R, ELECTRA) reads its
logits off the first token of its last layer. The other positions of that layer change nothing
in the logits, yet cost as much as the first token's: on MiniLM (6 layers) about a seventh of a
forward pass. Here the last layer computes keys and values for every token, as it must, and the
query, attention output and feed-forward block for the first token alone.

Whether a model qualifies is not guessed from its name: :func:`run_first_token_only` patches the
last layer only when it has the BERT layout, then checks on a small padded batch that the
patched model gives the same logits as before (in fp32); otherwise it leaves the model as it was.

>>> from transformers import AutoModelForSequenceClassification  # doctest: +SKIP
>>> model = AutoModelForSequenceClassification.from_pretrained(path).eval()  # doctest: +SKIP
>>> run_first_token_only(model)  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

_PROBE_TOLERANCE = 1e-4
"""Largest logit difference (fp32) between the patched and the plain model that the probe accepts."""


def _last_layer(model: Any) -> Any | None:
    """The last encoder layer of a BERT-layout model, or None when it has another layout."""
    encoder = getattr(getattr(model, "base_model", None), "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, torch.nn.ModuleList) or len(layers) == 0:
        return None
    layer = layers[-1]
    attention = getattr(layer, "attention", None)
    own = getattr(attention, "self", None)
    needed = (
        all(isinstance(getattr(own, name, None), torch.nn.Module) for name in ("query", "key", "value"))
        and isinstance(getattr(own, "attention_head_size", None), int)
        and isinstance(getattr(attention, "output", None), torch.nn.Module)
        and callable(getattr(layer, "feed_forward_chunk", None))
        and not getattr(layer, "is_decoder", False)
        and not getattr(layer, "add_cross_attention", False)
    )
    return layer if needed else None


def _first_query_mask(mask: torch.Tensor | None) -> torch.Tensor | None:
    """The attention mask rows of the first query position: a 4-D mask (batch, heads, queries,
    keys) keeps its first query row; a 2-D padding mask (batch, keys) becomes a boolean 4-D one."""
    if mask is None:
        return None
    if mask.dim() == 2:
        return mask[:, None, None, :].bool()
    return mask[..., :1, :]


def _first_token_forward(self: Any, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                         *args: Any, **kwargs: Any) -> torch.Tensor:
    """A BERT layer's forward pass whose output holds the first position only: (batch, 1, width).
    In training mode (dropout) the layer runs as its class defines it, every position included."""
    if self.training:
        return type(self).forward(self, hidden_states, attention_mask, *args, **kwargs)
    attn = self.attention.self
    batch = hidden_states.shape[0]
    first = hidden_states[:, :1]
    heads = (batch, -1, attn.num_attention_heads, attn.attention_head_size)
    query = attn.query(first).view(*heads).transpose(1, 2)
    key = attn.key(hidden_states).view(*heads).transpose(1, 2)
    value = attn.value(hidden_states).view(*heads).transpose(1, 2)
    mask = _first_query_mask(attention_mask)
    if mask is not None and mask.dtype != torch.bool:
        mask = mask.to(query.dtype)
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=attn.scaling)
    context = context.transpose(1, 2).reshape(batch, 1, -1)
    attention_output = self.attention.output(context, first)
    return self.feed_forward_chunk(attention_output)


def probe_inputs(model: Any, length: int = 12, padded_from: int = 7) -> dict[str, torch.Tensor]:
    """Two rows of random token ids, the second padded from ``padded_from``, on the model's device."""
    config = model.config
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, max(config.vocab_size, 6), (2, length), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, padded_from:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if getattr(config, "type_vocab_size", 0) and config.type_vocab_size > 0:
        inputs["token_type_ids"] = torch.zeros_like(ids)
    device = next(model.parameters()).device
    return {k: v.to(device) for k, v in inputs.items()}


def run_first_token_only(model: Any) -> bool:
    """Make ``model`` (a float sequence classifier in eval mode) compute its last layer for the
    first token only, when that gives the same logits; return whether it did.

    The patch replaces the last layer's ``forward`` on this instance only; the weights and their
    names are untouched, so saving the model writes the same files. The check is made in the
    model's own float arithmetic: converted to bf16 the logits still match to bf16's rounding, but
    dynamic int8 scales each layer's input per call, so with fewer rows in the last layer its
    probabilities move by up to a few hundredths (docs/speed.md, for the accuracy measured).
    Other outputs change: ``last_hidden_state`` and the last entry of ``hidden_states`` hold one
    position (the first token's vector), and ``output_attentions`` lacks the last layer.
    """
    layer = _last_layer(model)
    if layer is None or model.training:
        return False

    def patch() -> None:
        layer.forward = functools.partial(_first_token_forward, layer)  # a partial pickles; a bound method would not

    return keep_if_same_logits(model, lambda: probe_inputs(model), patch, lambda: run_every_position(model), "first-token last layer")


def keep_if_same_logits(model: Any, make_inputs: Callable[[], dict[str, torch.Tensor]], patch: Callable[[], None],
                        undo: Callable[[], None], what: str) -> bool:
    """Score ``make_inputs()``, ``patch`` the model, score them again: keep the patch (True) when no
    logit moved by more than 1e-4, else ``undo`` it (False). An error on the way (building the
    inputs included) also undoes it: a layout the patch does not know runs as it was.

    >>> keep_if_same_logits(model, lambda: probe_inputs(model), patch, undo, "my patch")  # doctest: +SKIP
    True
    """
    try:
        inputs = make_inputs()
        with torch.inference_mode():
            before = model(**inputs).logits.float()
            patch()
            after = model(**inputs).logits.float()
        gap = float((after - before).abs().max()) if after.shape == before.shape else float("inf")
        same = gap <= _PROBE_TOLERANCE
        if not same:
            log.debug("%s not used: the probe's logits moved by %.3g", what, gap)
    except Exception as err:
        log.debug("%s not used: %s", what, err)
        same = False
    if not same:
        undo()
    return same


def run_every_position(model: Any) -> None:
    """Undo :func:`run_first_token_only`: the last layer computes every position again, as its
    class defines it (a model that was never patched is left as it is).

    >>> run_every_position(model)  # doctest: +SKIP
    """
    layer = _last_layer(model)
    if layer is not None:
        layer.__dict__.pop("forward", None)
