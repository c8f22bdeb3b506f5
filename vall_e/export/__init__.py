"""Export a checkpoint: safetensors in another dtype (either family), GGUF (LLM-TTS).

    python -m vall_e.export --model DIR --out DIR_BF16 --format safetensors --dtype bfloat16
    python -m vall_e.export --model LLM_DIR --out model.gguf --format gguf --dtype float16
"""
from vall_e.export.gguf_export import export_gguf, verify_gguf
from vall_e.export.safetensors_export import export_safetensors

__all__ = ["export_gguf", "export_safetensors", "verify_gguf"]
