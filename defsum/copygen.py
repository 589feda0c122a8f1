"""A small copy-augmented encoder-decoder (pointer-generator) built from a BERT encoder.

The encoder is a plain ``BertModel`` (all-MiniLM-L6-v2 by default). The decoder is a stack of
post-LN transformer layers with causal self-attention and cross-attention, initialised from the
encoder's own layers (cross-attention copies self-attention), and shares the word embeddings with
the encoder and the output projection. A pointer-generator head (See et al., 2017) mixes the
vocabulary distribution with an attention distribution over the source tokens::

    p(w) = p_gen * softmax(vocab_logits)(w) + (1 - p_gen) * sum_{i: src_i = w} a_i

so names and numbers can be copied from the article from the first training steps. The model's
``logits`` are ``log p(w)``, so any code that applies ``log_softmax`` to them gets the same values.

Importing this module registers ``model_type="defsum-copygen"`` with ``AutoConfig`` and
``AutoModelForSeq2SeqLM``, so ``from_pretrained`` needs no remote code.

>>> config = CopyGenConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
...                        intermediate_size=64, vocab_size=100)
>>> model = CopyGenForConditionalGeneration(config)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    BertConfig,
    BertModel,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import ModelOutput

logger = logging.getLogger(__name__)

MODEL_TYPE = "defsum-copygen"
_EPS = 1e-9


class CopyGenConfig(PretrainedConfig):
    """Configuration of :class:`CopyGenForConditionalGeneration`.

    The encoder fields mirror ``BertConfig``; ``num_decoder_layers`` defaults to the encoder depth.

    >>> CopyGenConfig(num_decoder_layers=2).num_decoder_layers
    2
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 384,
        num_hidden_layers: int = 6,
        num_decoder_layers: int | None = None,
        num_attention_heads: int = 12,
        intermediate_size: int = 1536,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.0,
        max_position_embeddings: int = 512,
        max_target_positions: int = 128,
        type_vocab_size: int = 2,
        layer_norm_eps: float = 1e-12,
        initializer_range: float = 0.02,
        pad_token_id: int = 0,
        bos_token_id: int = 101,
        eos_token_id: int = 102,
        decoder_start_token_id: int = 101,
        no_copy_token_ids: list[int] | None = None,
        use_copy: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("is_encoder_decoder", True)
        kwargs.setdefault("tie_word_embeddings", False)  # sharing is done by module, not by HF tying
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            decoder_start_token_id=decoder_start_token_id,
            **kwargs,
        )
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_decoder_layers = num_hidden_layers if num_decoder_layers is None else num_decoder_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.max_target_positions = max_target_positions
        self.type_vocab_size = type_vocab_size
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        # [PAD], [UNK], [CLS], [SEP], [MASK] in BERT vocabularies: never copied.
        self.no_copy_token_ids = list(no_copy_token_ids) if no_copy_token_ids is not None else [0, 100, 101, 102, 103]
        self.use_copy = use_copy

    def encoder_config(self) -> BertConfig:
        """The ``BertConfig`` of the encoder."""
        return BertConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            hidden_dropout_prob=self.hidden_dropout_prob,
            attention_probs_dropout_prob=self.attention_probs_dropout_prob,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            layer_norm_eps=self.layer_norm_eps,
            initializer_range=self.initializer_range,
            pad_token_id=self.pad_token_id,
        )


@dataclass
class CopyGenOutput(ModelOutput):
    """Output of :class:`CopyGenForConditionalGeneration` (``logits`` are log-probabilities)."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    p_gen: torch.Tensor | None = None
    encoder_last_hidden_state: torch.Tensor | None = None


class _Attention(nn.Module):
    """Multi-head attention with separate q/k/v/o projections (BERT layout), using SDPA."""

    def __init__(self, config: CopyGenConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = h // self.num_heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.output = nn.Linear(h, h)
        self.dropout = config.attention_probs_dropout_prob

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)

    def project_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._split(self.key(memory)), self._split(self.value(memory))

    def forward(
        self,
        x: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        causal: bool = False,
        return_probs: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        q = self._split(self.query(x))
        if return_probs:  # explicit attention (no dropout): the copy head reuses its probabilities
            scores = torch.matmul(q, k.transpose(-1, -2)).float() / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
            probs = torch.softmax(scores, dim=-1)
            out = torch.matmul(probs.to(v.dtype), v)
            b, _, t, _ = out.shape
            return self.output(out.transpose(1, 2).reshape(b, t, -1)), probs.mean(1)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal and mask is None and q.shape[2] > 1,
        )
        b, _, t, _ = out.shape
        return self.output(out.transpose(1, 2).reshape(b, t, -1))


class _DecoderLayer(nn.Module):
    """Post-LN decoder layer: causal self-attention, cross-attention, feed-forward."""

    def __init__(self, config: CopyGenConfig) -> None:
        super().__init__()
        h, eps = config.hidden_size, config.layer_norm_eps
        self.self_attn = _Attention(config)
        self.self_norm = nn.LayerNorm(h, eps=eps)
        self.cross_attn = _Attention(config)
        self.cross_norm = nn.LayerNorm(h, eps=eps)
        self.intermediate = nn.Linear(h, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, h)
        self.output_norm = nn.LayerNorm(h, eps=eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        x: torch.Tensor,
        cross_kv: tuple[torch.Tensor, torch.Tensor],
        cross_mask: torch.Tensor,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
        return_probs: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor | None]:
        k, v = self.self_attn.project_kv(x)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        causal = past is None
        h = self.self_attn(x, k, v, None, causal=causal)
        x = self.self_norm(x + self.dropout(h))
        probs = None
        if return_probs:
            h, probs = self.cross_attn(x, cross_kv[0], cross_kv[1], cross_mask, return_probs=True)
        else:
            h = self.cross_attn(x, cross_kv[0], cross_kv[1], cross_mask)
        x = self.cross_norm(x + self.dropout(h))
        h = self.output(F.gelu(self.intermediate(x)))
        x = self.output_norm(x + self.dropout(h))
        return x, (k, v), probs


class CopyGenForConditionalGeneration(PreTrainedModel):
    """BERT encoder + transformer decoder + pointer-generator copy head.

    >>> model = CopyGenForConditionalGeneration.from_minilm(base_model_path())  # doctest: +SKIP
    >>> out = model(input_ids=src, attention_mask=mask, labels=tgt)             # doctest: +SKIP
    """

    config_class = CopyGenConfig
    base_model_prefix = "copygen"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _no_split_modules: list[str] = []

    def __init__(self, config: CopyGenConfig) -> None:
        super().__init__(config)
        h = config.hidden_size
        self.encoder = BertModel(config.encoder_config(), add_pooling_layer=False)
        self.dec_position = nn.Embedding(config.max_target_positions, h)
        self.dec_embed_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.dec_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(_DecoderLayer(config) for _ in range(config.num_decoder_layers))
        self.lm_transform = nn.Linear(h, h)
        self.lm_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.lm_bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.p_gen = nn.Linear(3 * h, 1)
        self.post_init()

    # ------------------------------------------------------------------ weights
    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    @classmethod
    def from_minilm(cls, bert_path: str, tokenizer: Any = None, **config_overrides: Any) -> "CopyGenForConditionalGeneration":
        """Build the model warm-started from a BERT checkpoint folder (e.g. all-MiniLM-L6-v2).

        Encoder weights are loaded as they are; each decoder layer copies the matching encoder
        layer, its cross-attention copies the self-attention, and the decoder position embeddings
        copy the encoder's first ``max_target_positions`` positions. The special tokens (decoder
        start = ``[CLS]``, end = ``[SEP]``, never copied: those and ``[PAD]``, ``[UNK]``,
        ``[MASK]``) are the ids the folder's tokenizer (or ``tokenizer``, when given) gives them. Raises ``ValueError`` for a
        folder that is not a BERT model (RoBERTa, ELECTRA, ...: train those as a ``--base``
        seq2seq model instead).
        """
        from transformers import AutoConfig, AutoTokenizer

        from defsum.modelio import pretrained_kwargs

        kind = AutoConfig.from_pretrained(bert_path, **pretrained_kwargs()).model_type
        if kind != "bert":
            raise ValueError(f"{bert_path} is a {kind!r} model; the copy model is built from a BERT encoder "
                             "(all-MiniLM-L6-v2 or another BERT checkpoint). For other models train a seq2seq checkpoint "
                             "(T5, BART, ...) with --base instead")
        bert, info = BertModel.from_pretrained(bert_path, add_pooling_layer=False, dtype=torch.float32,
                                               output_loading_info=True, **pretrained_kwargs())
        if info["missing_keys"]:
            raise ValueError(f"{bert_path}: these BERT weights are missing, so the encoder would start random: "
                             f"{sorted(info['missing_keys'])[:5]}")
        tok = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(bert_path, **pretrained_kwargs())
        specials = {"cls": tok.cls_token_id, "sep": tok.sep_token_id, "pad": tok.pad_token_id}
        if None in specials.values():
            raise ValueError(f"{bert_path}: its tokenizer has no {[k for k, v in specials.items() if v is None]} token, "
                             "which the copy model needs as decoder start, end and padding")
        config_overrides = {"bos_token_id": tok.cls_token_id, "decoder_start_token_id": tok.cls_token_id,
                            "eos_token_id": tok.sep_token_id,
                            "no_copy_token_ids": sorted({i for i in (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id,
                                                                     tok.sep_token_id, tok.mask_token_id) if i is not None}),
                            **config_overrides}
        bc = bert.config
        fields = {
            k: getattr(bc, k)
            for k in (
                "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "hidden_act", "max_position_embeddings", "type_vocab_size",
                "layer_norm_eps", "initializer_range",
            )
        }
        fields["pad_token_id"] = tok.pad_token_id
        fields["attention_probs_dropout_prob"] = 0.0  # dropout inside attention forces slow math SDPA on CPU
        fields.update(config_overrides)
        config = CopyGenConfig(**fields)
        model = cls(config)
        model.encoder.load_state_dict(bert.state_dict(), strict=False)
        model._init_decoder_from_encoder()
        return model

    @torch.no_grad()
    def _init_decoder_from_encoder(self) -> None:
        enc_layers = self.encoder.encoder.layer
        n = len(enc_layers)
        for i, layer in enumerate(self.layers):
            src = enc_layers[min(i, n - 1)]
            att = src.attention.self
            for target in (layer.self_attn, layer.cross_attn):
                target.query.load_state_dict(att.query.state_dict())
                target.key.load_state_dict(att.key.state_dict())
                target.value.load_state_dict(att.value.state_dict())
                target.output.load_state_dict(src.attention.output.dense.state_dict())
            layer.self_norm.load_state_dict(src.attention.output.LayerNorm.state_dict())
            layer.cross_norm.load_state_dict(src.attention.output.LayerNorm.state_dict())
            layer.intermediate.load_state_dict(src.intermediate.dense.state_dict())
            layer.output.load_state_dict(src.output.dense.state_dict())
            layer.output_norm.load_state_dict(src.output.LayerNorm.state_dict())
        emb = self.encoder.embeddings
        t = self.config.max_target_positions
        self.dec_position.weight.copy_(emb.position_embeddings.weight[:t])
        self.dec_embed_norm.load_state_dict(emb.LayerNorm.state_dict())

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.encoder.embeddings.word_embeddings = value

    def get_encoder(self) -> nn.Module:
        return self.encoder

    # ------------------------------------------------------------------ forward
    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> BaseModelOutput:
        """Run the encoder; inputs longer than the position table raise a clear error."""
        if input_ids.shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"input has {input_ids.shape[1]} tokens; this model reads at most "
                f"{self.config.max_position_embeddings}. Select or truncate the input first "
                "(Summarizer does this for you)."
            )
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask)

    @staticmethod
    def _cross_mask(attention_mask: torch.Tensor) -> torch.Tensor:
        return attention_mask.bool()[:, None, None, :]

    def _copy_mask(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        ok = attention_mask.bool()
        for tid in self.config.no_copy_token_ids:
            ok &= input_ids != tid
        return ok

    def decode_step(
        self,
        decoder_input_ids: torch.Tensor,
        memory: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        cache: dict[str, Any] | None = None,
        labels: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        """Return ``(log_probs, p_gen, cache)`` for ``decoder_input_ids`` given the encoded source.

        With ``cache`` (from a previous call) only the new positions are fed. With ``labels`` the
        first output is ``(B, T, 2)``: gold-token log-probs and the vocabulary smoothing term.
        """
        cache = {} if cache is None else cache
        past_len = cache.get("length", 0)
        emb = self.encoder.embeddings.word_embeddings
        t = decoder_input_ids.shape[1]
        if past_len + t > self.config.max_target_positions:
            raise ValueError(
                f"target of {past_len + t} tokens exceeds max_target_positions="
                f"{self.config.max_target_positions}"
            )
        pos = torch.arange(past_len, past_len + t, device=decoder_input_ids.device)
        tok = emb(decoder_input_ids)
        x = self.dec_dropout(self.dec_embed_norm(tok + self.dec_position(pos)[None]))
        if "cross_kv" not in cache:
            cache["cross_kv"] = [layer.cross_attn.project_kv(memory) for layer in self.layers]
            cache["cross_mask"] = self._cross_mask(attention_mask)
            cache["copy_ok"] = self._copy_mask(input_ids, attention_mask)
        new_past = []
        pasts = cache.get("self_kv") or [None] * len(self.layers)
        cross_mask = cache["cross_mask"]
        last = len(self.layers) - 1
        copy_probs = None
        for i, (layer, past, kv) in enumerate(zip(self.layers, pasts, cache["cross_kv"])):
            x, new_kv, probs = layer(x, kv, cross_mask, past, return_probs=self.config.use_copy and i == last)
            new_past.append(new_kv)
            if probs is not None:
                copy_probs = probs
        cache["copy_probs"] = copy_probs
        cache["self_kv"] = new_past
        cache["length"] = past_len + t

        log_probs, p_gen = self._output(x, tok, memory, input_ids, cache, labels)
        return log_probs, p_gen, cache

    def _output(
        self,
        x: torch.Tensor,
        tok: torch.Tensor,
        memory: torch.Tensor,
        input_ids: torch.Tensor,
        cache: dict[str, Any],
        labels: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Final log-distribution ``(B, T, V)``; with ``labels``, only the gold log-probs ``(B, T)``
        and the vocabulary-smoothing term, without building the full mixture (much faster)."""
        emb = self.encoder.embeddings.word_embeddings
        h = self.lm_norm(F.gelu(self.lm_transform(x)))
        vocab_logits = (F.linear(h, emb.weight) + self.lm_bias).float()
        t = x.shape[1]
        if labels is not None:
            gold = labels.masked_fill(labels < 0, 0)
            lse = torch.logsumexp(vocab_logits, dim=-1)
            gold_vocab = vocab_logits.gather(-1, gold[..., None]).squeeze(-1) - lse
            smooth = lse - vocab_logits.mean(-1)
        if not self.config.use_copy:
            p_gen = torch.ones(x.shape[:2], device=x.device)
            if labels is not None:
                return torch.stack([gold_vocab, smooth], -1), p_gen
            return torch.log_softmax(vocab_logits, dim=-1), p_gen

        # Copy distribution: the last decoder layer's cross-attention, averaged over heads, with
        # special tokens removed and renormalised (See et al., 2017; the recipe of issue 5).
        ok = cache["copy_ok"]
        attn = cache["copy_probs"] * ok[:, None, :]
        attn = attn / attn.sum(-1, keepdim=True).clamp(min=1e-9)
        has_any = ok.any(-1, keepdim=True)  # (B, 1): rows with something to copy
        context = torch.matmul(attn.to(memory.dtype), memory)
        gate_in = torch.cat([x, context.to(x.dtype), tok.to(x.dtype)], dim=-1)
        p_gen = torch.sigmoid(self.p_gen(gate_in).float()).squeeze(-1)
        p_gen = torch.where(has_any, p_gen, torch.ones_like(p_gen))
        if labels is not None:
            copy_gold = (attn * (input_ids[:, None, :] == gold[:, :, None])).sum(-1)
            p = p_gen * gold_vocab.exp() + (1.0 - p_gen) * copy_gold
            return torch.stack([torch.log(p + _EPS), smooth], -1), p_gen
        vocab_p = torch.softmax(vocab_logits, dim=-1)
        copy_p = torch.zeros_like(vocab_p)
        index = input_ids[:, None, :].expand(-1, t, -1)
        copy_p.scatter_add_(2, index, attn)
        final = p_gen[..., None] * vocab_p + (1.0 - p_gen[..., None]) * copy_p
        return torch.log(final + _EPS), p_gen

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        label_smoothing: float = 0.0,
        **kwargs: Any,
    ) -> CopyGenOutput:
        """Teacher-forced forward. ``labels`` use -100 for ignored positions.

        If ``decoder_input_ids`` is missing it is built by shifting ``labels`` right.
        """
        if input_ids is None:
            raise ValueError("input_ids (the source token ids) are required: the copy head needs them")
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        if encoder_outputs is None:
            encoder_outputs = self.encode(input_ids, attention_mask)
        memory = encoder_outputs[0]
        if decoder_input_ids is None:
            if labels is None:
                raise ValueError("pass decoder_input_ids or labels")
            decoder_input_ids = self.shift_right(labels)
        if labels is None:
            log_probs, p_gen, _ = self.decode_step(decoder_input_ids, memory, input_ids, attention_mask)
            return CopyGenOutput(logits=log_probs, p_gen=p_gen, encoder_last_hidden_state=memory)
        gold, p_gen, _ = self.decode_step(decoder_input_ids, memory, input_ids, attention_mask, labels=labels)
        mask = labels != -100
        nll = -gold[..., 0]
        if label_smoothing > 0:
            nll = (1 - label_smoothing) * nll + label_smoothing * gold[..., 1]
        loss = (nll * mask).sum() / mask.sum().clamp(min=1)
        return CopyGenOutput(loss=loss, logits=None, p_gen=p_gen, encoder_last_hidden_state=memory)

    def shift_right(self, labels: torch.Tensor) -> torch.Tensor:
        """Decoder inputs: ``[decoder_start] + labels[:-1]`` with -100 replaced by padding."""
        start = torch.full_like(labels[:, :1], self.config.decoder_start_token_id)
        shifted = torch.cat([start, labels[:, :-1]], dim=1)
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id)

    # --------------------------------------------------------------- generation
    @torch.inference_mode()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        num_beams: int = 4,
        num_return_sequences: int = 1,
        max_new_tokens: int = 64,
        min_new_tokens: int = 0,
        no_repeat_ngram_size: int = 3,
        length_penalty: float = 1.0,
        repetition_penalty: float = 1.0,
        block_repeated_token: bool = True,
        continuation_ids: list[int] | None = None,
        return_scores: bool = False,
        **unused: Any,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Beam search with n-gram blocking; returns ``(batch * num_return_sequences, length)`` ids.

        Sequences start with ``decoder_start_token_id`` and are padded with ``pad_token_id``,
        like ``transformers`` ``generate`` for encoder-decoder models. Returned beams are sorted
        best first within each input.

        ``block_repeated_token`` forbids immediately repeating the last 1-3 tokens ("withdrew
        withdrew", "on tuesday on tuesday").
        ``continuation_ids`` (word-piece ids such as ``##ika``) may only follow a token that they
        follow somewhere in the source, so rare names are copied whole or not at all (no
        "panmunjocation").
        ``return_scores=True`` also returns each sequence's log-probability divided by its
        length (``length ** length_penalty``), shape ``(batch * num_return_sequences,)``.
        """
        if unused:
            logger.debug("generate ignores %s", sorted(unused))
        if num_return_sequences > num_beams:
            raise ValueError(f"num_return_sequences={num_return_sequences} exceeds num_beams={num_beams}")
        cfg = self.config
        device = input_ids.device
        if attention_mask is None:
            attention_mask = (input_ids != cfg.pad_token_id).long()
        bsz = input_ids.shape[0]
        k = num_beams
        max_new_tokens = min(max_new_tokens, cfg.max_target_positions - 1)
        memory = self.encode(input_ids, attention_mask)[0]
        memory = memory.repeat_interleave(k, 0)
        src = input_ids.repeat_interleave(k, 0)
        src_mask = attention_mask.repeat_interleave(k, 0)
        seqs = torch.full((bsz * k, 1), cfg.decoder_start_token_id, dtype=torch.long, device=device)
        scores = torch.zeros(bsz, k, device=device)
        scores[:, 1:] = -1e9  # all beams start identical: keep only one alive at step 0
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(bsz)]
        done = [False] * bsz
        cache: dict[str, Any] | None = None
        step_input = seqs
        vocab = cfg.vocab_size
        cont_mask = None
        allowed: list[dict[int, list[int]]] = []
        if continuation_ids:
            cont_mask = torch.zeros(vocab, dtype=torch.bool, device=device)
            cont_mask[torch.tensor(continuation_ids, device=device)] = True
            is_cont = cont_mask.cpu().tolist()
            for row in input_ids.tolist():
                pairs: dict[int, list[int]] = {}
                for a, b in zip(row, row[1:]):
                    if is_cont[b]:
                        pairs.setdefault(a, []).append(b)
                allowed.append(pairs)
        for step in range(max_new_tokens):
            log_probs, _, cache = self.decode_step(step_input, memory, src, src_mask, cache)
            lp = log_probs[:, -1, :].float()
            lp[:, cfg.pad_token_id] = -1e9
            lp[:, cfg.decoder_start_token_id] = -1e9
            if step < min_new_tokens:
                lp[:, cfg.eos_token_id] = -1e9
            if repetition_penalty != 1.0:
                prev = seqs[:, 1:]
                if prev.numel():
                    pen = lp.gather(1, prev)
                    lp.scatter_(1, prev, torch.where(pen < 0, pen * repetition_penalty, pen / repetition_penalty))
            last_tokens = seqs[:, -1].tolist()
            if block_repeated_token and step > 0:
                # No immediately repeated 1-3-token run: "withdrew withdrew", "on tuesday on tuesday".
                for r, row in enumerate(seqs[:, 1:].tolist()):
                    for n in (1, 2, 3):
                        if len(row) >= 2 * n - 1 and row[len(row) - 2 * n + 1 : len(row) - n] == row[len(row) - n + 1 :]:
                            lp[r, row[-n]] = -1e9
            if cont_mask is not None:
                lp[:, cont_mask] = -1e9
                for r, prev in enumerate(last_tokens):
                    ok_next = allowed[r // k].get(prev)
                    if ok_next:
                        idx = torch.tensor(ok_next, device=device)
                        lp[r, idx] = log_probs[r, -1, idx].float()
            if no_repeat_ngram_size > 0 and seqs.shape[1] >= no_repeat_ngram_size:
                _block_ngrams(lp, seqs[:, 1:], no_repeat_ngram_size)
            cand = (scores.view(-1, 1) + lp).view(bsz, k * vocab)
            top_scores, top_idx = cand.topk(2 * k, dim=1)
            beam_idx = top_idx // vocab
            token_idx = top_idx % vocab
            new_scores = torch.full((bsz, k), -1e9, device=device)
            new_src_beam = torch.zeros(bsz, k, dtype=torch.long, device=device)
            new_tokens = torch.full((bsz, k), cfg.pad_token_id, dtype=torch.long, device=device)
            ts, bi, ti = top_scores.tolist(), beam_idx.tolist(), token_idx.tolist()
            for b in range(bsz):
                if done[b]:
                    continue
                slot = 0
                for s, bm, tk in zip(ts[b], bi[b], ti[b]):
                    if s < -1e8:
                        break
                    if tk == cfg.eos_token_id:
                        hyp = seqs[b * k + bm, 1:].tolist()
                        length = max(len(hyp), 1)
                        finished[b].append((s / (length**length_penalty), hyp))
                        continue
                    new_scores[b, slot] = s
                    new_src_beam[b, slot] = bm
                    new_tokens[b, slot] = tk
                    slot += 1
                    if slot == k:
                        break
                if len(finished[b]) >= k:
                    best_alive = new_scores[b, 0].item() / ((step + 1) ** length_penalty)
                    worst_kept = sorted(f[0] for f in finished[b])[-k]
                    if best_alive < worst_kept or length_penalty <= 0:
                        done[b] = True
            if all(done):
                break
            flat = (torch.arange(bsz, device=device)[:, None] * k + new_src_beam).view(-1)
            seqs = torch.cat([seqs[flat], new_tokens.view(-1, 1)], dim=1)
            cache["self_kv"] = [(kk[flat], vv[flat]) for kk, vv in cache["self_kv"]]
            scores = new_scores
            for b in range(bsz):
                if done[b]:
                    scores[b] = -1e9
            step_input = seqs[:, -1:]
        for b in range(bsz):
            if len(finished[b]) < num_return_sequences:
                for j in range(k):
                    s = scores[b, j].item()
                    if s > -1e8:
                        hyp = seqs[b * k + j, 1:].tolist()
                        finished[b].append((s / (max(len(hyp), 1) ** length_penalty), hyp))
        rows, row_scores = [], []
        for b in range(bsz):
            ranked = sorted(finished[b], key=lambda f: f[0], reverse=True)[:num_return_sequences]
            while len(ranked) < num_return_sequences:
                ranked.append((-1e9, []))
            rows.extend([cfg.decoder_start_token_id] + hyp + [cfg.eos_token_id] for _, hyp in ranked)
            row_scores.extend(score for score, _ in ranked)
        width = max(len(r) for r in rows)
        out = torch.full((len(rows), width), cfg.pad_token_id, dtype=torch.long, device=device)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long, device=device)
        if return_scores:
            return out, torch.tensor(row_scores, device=device)
        return out


def _block_ngrams(lp: torch.Tensor, prev: torch.Tensor, n: int) -> None:
    """Set to -inf every token that would repeat an n-gram already in ``prev`` (in place)."""
    rows = prev.tolist()
    for r, toks in enumerate(rows):
        if len(toks) < n - 1:
            continue
        prefix = tuple(toks[len(toks) - n + 1 :]) if n > 1 else ()
        banned = [
            toks[i + n - 1]
            for i in range(len(toks) - n + 1)
            if tuple(toks[i : i + n - 1]) == prefix
        ]
        if banned:
            lp[r, banned] = -1e9


def register() -> None:
    """Register the model type with the transformers Auto classes (idempotent)."""
    try:
        AutoConfig.register(MODEL_TYPE, CopyGenConfig)
    except ValueError:
        pass
    try:
        AutoModelForSeq2SeqLM.register(CopyGenConfig, CopyGenForConditionalGeneration)
    except ValueError:
        pass


register()
