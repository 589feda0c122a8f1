"""The classifier's encoder on ONNX Runtime: exported from torch at load, int8 weights by default.

``EventClassifier.from_pretrained(backend="onnxruntime")`` uses it (``defsum score --backend
onnxruntime``; needs ``pip install 'defsum[onnx]'``). The model is exported with the TorchScript
exporter (``torch.onnx.export(dynamo=False)``, eager attention) to a temporary folder, its linear
layers' weights quantised to int8 per channel by ``onnxruntime.quantization.quantize_dynamic``
(to 7 bits where :func:`defsum.precision.int8_full_range` finds that 8-bit products overflow),
and run by an ONNX Runtime CPU session with torch's thread count. Export and quantisation take
about 5 s for MiniLM; nothing is cached between runs.

>>> encoder = OnnxEncoder(torch_model, tokenizer.model_input_names, quantize=True)  # doctest: +SKIP
>>> encoder(input_ids=ids, attention_mask=mask).logits.shape  # doctest: +SKIP
torch.Size([2, 3])
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import torch

from defsum.precision import int8_full_range

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _require() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as err:
        raise ValueError(f"backend='onnxruntime' needs onnx and onnxruntime: pip install 'defsum[onnx]' ({err})") from err
    return onnx, onnxruntime


class OnnxEncoder:
    """A sequence classifier exported to ONNX and run by ONNX Runtime, called like the torch model
    inside ``EventClassifier``: returns ``logits`` and, as ``hidden_states[-1]``, the last layer's
    first-token vector (the primary head's input; the other positions are not returned)."""

    def __init__(self, model: Any, input_names: Sequence[str], *, quantize: bool = True, threads: int | None = None) -> None:
        onnx, ort = _require()
        names = [n for n in INPUTS if n in input_names]
        if "input_ids" not in names or "attention_mask" not in names:
            raise ValueError(f"the ONNX backend needs a tokenizer giving input_ids and attention_mask, got {list(input_names)}")
        self.quantized = quantize

        class Graph(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                out = self.model(**dict(zip(names, args)), output_hidden_states=True)
                return out.logits, out.hidden_states[-1][:, 0]

        dummy = torch.ones(2, 16, dtype=torch.long)
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain, final = str(Path(tmp) / "model.onnx"), str(Path(tmp) / "model.int8.onnx")
            torch.onnx.export(
                Graph().eval(), tuple(torch.zeros_like(dummy) if n == "token_type_ids" else dummy for n in names), plain,
                input_names=names, output_names=["logits", "cls"], opset_version=17, dynamo=False,
                dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "logits": {0: "batch"}, "cls": {0: "batch"}},
            )
            if quantize:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                previous = logging.root.manager.disable  # the caller's own logging.disable level, restored after
                logging.disable(max(previous, logging.WARNING))  # its root-logger advice to pre-process the graph first
                try:
                    # 7-bit weights where 8-bit int8 products can overflow (x86 without VNNI), as ONNX Runtime advises
                    quantize_dynamic(plain, final, weight_type=QuantType.QInt8, per_channel=True,
                                     reduce_range=not int8_full_range(),
                                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
                finally:
                    logging.disable(previous)
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads or torch.get_num_threads()
            # the session reads the file now; the temporary folder can go
            self.session = ort.InferenceSession(final if quantize else plain, options, providers=["CPUExecutionProvider"])
        # the exporter drops inputs the model never reads (DeBERTa-v2 with no token types): feed the graph's own
        kept = {i.name for i in self.session.get_inputs()}
        self.input_names = [n for n in names if n in kept]
        self.device = torch.device("cpu")

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                 output_hidden_states: bool = False) -> Any:
        given = {"input_ids": input_ids, "attention_mask": attention_mask,
                 "token_type_ids": token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)}
        logits, cls = self.session.run(None, {n: given[n].cpu().numpy() for n in self.input_names})
        return SimpleNamespace(logits=torch.from_numpy(logits), hidden_states=(torch.from_numpy(cls)[:, None, :],))
