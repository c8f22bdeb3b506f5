"""User-facing errors: each one is a single line saying what was wrong and what to do.

Every class derives from ``ValueError`` so callers that only care about bad input can catch
that; the CLI prints ``str(error)`` alone (no traceback) for any ``VallEError``.
"""


class VallEError(ValueError):
    """Base class for errors caused by input the user can fix."""


class ConfigError(VallEError):
    """A YAML file or config value is invalid."""


class TextError(VallEError):
    """Input text is empty, too long, or cannot be phonemized."""


class AudioError(VallEError):
    """An audio file is missing, empty, corrupt, or too short."""


class CodecMismatchError(VallEError):
    """Codes or a checkpoint were made with a different codec than the one in use."""


class CheckpointError(VallEError):
    """A checkpoint directory is missing, incomplete, or for another model."""


class SamplingError(VallEError):
    """Sampling parameters are impossible (negative temperature, top-p outside (0, 1], ...)."""


class DataError(VallEError):
    """Prepared data is missing, incomplete or malformed, or an input corpus is unusable."""


class GenerationError(VallEError):
    """The model produced nothing usable (no audio frame): another seed or sampler may help."""
