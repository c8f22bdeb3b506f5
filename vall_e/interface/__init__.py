"""The Python API: ``Interface`` over either model family, OuteTTS-style records, speakers."""
from vall_e.inference.speaker import SpeakerProfile
from vall_e.interface.config import (
    GenerationConfig,
    GenerationType,
    InterfaceConfig,
    SamplerConfig,
)
from vall_e.interface.interface import Interface
from vall_e.interface.output import AudioChunk, ModelOutput

__all__ = [
    "AudioChunk",
    "GenerationConfig",
    "GenerationType",
    "Interface",
    "InterfaceConfig",
    "ModelOutput",
    "SamplerConfig",
    "SpeakerProfile",
]
