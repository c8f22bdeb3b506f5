"""Weight quantization: an offline rewrite of a checkpoint plus a runtime conversion at load.

    python -m vall_e.quantize --model DIR --out DIR_INT4 --bits 4 --group-size 32
    python -m vall_e DIR_INT4 ...   # or Interface(InterfaceConfig(model_path=DIR_INT4))

``qtensor`` holds the arithmetic (group-wise int8 / packed int4 with per-group scales),
``modules`` the drop-in quantized Linear / Embedding layers and their CPU kernels,
``convert`` which modules are rewritten, ``checkpoint`` the offline rewrite of a checkpoint
directory, ``runtime`` the conversion at load (what the checkpoint loaders import).
"""
from vall_e.quantize.checkpoint import QuantizeReport, model_bytes, quantize_checkpoint
from vall_e.quantize.convert import QuantSpec, quantize_model
from vall_e.quantize.modules import DynamicInt8Linear, QuantEmbedding, QuantLinear
from vall_e.quantize.runtime import MANIFEST_FILE, is_quantized, load_quantized_weights

__all__ = [
    "MANIFEST_FILE", "DynamicInt8Linear", "QuantEmbedding", "QuantLinear", "QuantSpec",
    "QuantizeReport", "is_quantized", "load_quantized_weights", "model_bytes",
    "quantize_checkpoint", "quantize_model",
]
