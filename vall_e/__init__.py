"""vall_e: neural-codec language-model text-to-speech.

Importing the package has no side effects: no argv parsing, no device choice, no env mutation.
The Python API is importable from here (loaded on first use, so ``import vall_e`` stays cheap)::

    from vall_e import Interface, InterfaceConfig, GenerationConfig, GenerationType, SamplerConfig
"""
__version__ = "0.1.0"

_API = ("AudioChunk", "GenerationConfig", "GenerationType", "Interface", "InterfaceConfig",
        "ModelOutput", "SamplerConfig", "SpeakerProfile")


def __getattr__(name: str):
    if name in _API:
        import vall_e.interface as api

        return getattr(api, name)
    raise AttributeError(f"module 'vall_e' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
