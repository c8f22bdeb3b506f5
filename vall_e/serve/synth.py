"""The server's bridge to the library: a request's fields -> one ``Interface`` call.

A streaming answer comes from ``Interface.stream`` (audio as the engine makes it: windows
within a sentence for the default model), a whole-file answer from ``Interface.sentences``
(each sentence in one pass: no window edges, less compute). Either way the job yields audio
chunk by chunk and a cancelled job stops between chunks. Sampler
fields a request leaves out keep the model's own measured defaults (its
``inference.sampling``), not SamplerConfig's generic ones.
"""
from __future__ import annotations

from dataclasses import fields, replace

import torch

from vall_e.errors import SamplingError, VallEError
from vall_e.interface import GenerationConfig, GenerationType, SamplerConfig
from vall_e.interface.output import crossfade_join
from vall_e.sampling import SamplingParams
from vall_e.sampling.params import cli_flag
from vall_e.serve.errors import APIError, from_library

# SamplerConfig's names for SamplingParams fields that are spelled differently there
_RENAMED = {"temperature": "ar_temp", "min_temperature": "min_ar_temp",
            "nar_temperature": "nar_temp", "mirostat": "mirostat_tau"}


def speed_home() -> str | None:
    """Where a ``speed`` request field goes: the sampling record, the generation config, or
    nowhere (this library has no speed control yet, so only 1.0 is accepted)."""
    if "speed" in SamplingParams.field_names():
        return "sampling"
    if "speed" in {f.name for f in fields(GenerationConfig)}:
        return "generation"
    return None


def sampling_params(defaults: SamplingParams, overrides: dict) -> SamplingParams | None:
    """The model's defaults with the request's SamplerConfig fields laid over them."""
    if not overrides:
        return None  # the engine's own defaults
    try:
        converted = SamplerConfig(**overrides).to_params()
        changed = {_RENAMED.get(k, k): getattr(converted, _RENAMED.get(k, k)) for k in overrides}
        return replace(defaults, **changed).validate()
    except SamplingError as exc:
        raise sampling_error(exc) from None


def sampling_error(exc: SamplingError) -> APIError:
    """A 400 that names fields as the request spells them, not as the CLI does (``--ar-temp``)."""
    message = str(exc)
    names = {_RENAMED.get(f.name, f.name): f.name for f in fields(SamplerConfig)}
    names.setdefault("speed", "speed")
    # longest flags first: --min-ar-temp must not be rewritten as --min-<ar_temp>
    for target in sorted(SamplingParams.field_names(), key=len, reverse=True):
        if cli_flag(target) in message:
            message = message.replace(cli_flag(target), names.get(target, target))
    first = message.split(" ", 1)[0]
    return APIError(400, message, param=first if first in names.values() else None)


class Synthesizer:
    def __init__(self, interface, store):
        self.interface = interface
        self.store = store

    @property
    def sample_rate(self) -> int:
        return self.interface.sample_rate

    def config(self, text: str, overrides: dict, speed: float, stream: bool = True,
               voice_match: float | None = None, voice_match_levels: str | None = None,
               repeat_short_prompt: str | None = None) -> GenerationConfig:
        """Validated before the job is queued, so bad values are a 400 at once. ``stream``:
        audio as the model makes it (``Interface.stream``: windows within a sentence for the
        default model); else sentence by sentence in one pass each (``Interface.sentences``:
        no window edges, and about a third of the windows' compute for the default model)."""
        params = sampling_params(self.interface.engine.default_sampling, overrides)
        extra = {}
        home = speed_home()
        if home is None and speed != 1.0:
            raise APIError(400, "speed: this model does not support speed control yet; send "
                           "speed 1.0 or leave it out", param="speed")
        if home == "sampling":
            params = replace(params or self.interface.engine.default_sampling, speed=speed)
        elif home == "generation":
            extra["speed"] = speed
        if voice_match:
            self._check_voice_match()
        if repeat_short_prompt not in (None, "none") and self.interface.engine.family != "ar_nar":
            raise APIError(400, f"repeat_short_prompt: this {self.interface.engine.family} model "
                           "reads its reference as it is; send none or leave it out",
                           param="repeat_short_prompt")
        kind = GenerationType.STREAM if stream else GenerationType.CHUNKED
        config = GenerationConfig(text=text, generation_type=kind, sampler_config=params,
                                  voice_match=voice_match, voice_match_levels=voice_match_levels,
                                  repeat_short_prompt=repeat_short_prompt, **extra)
        try:
            config.validate()
        except VallEError as exc:
            raise from_library(exc, param="input") from None
        return config

    def _check_voice_match(self) -> None:
        """A 400 before queueing when this model cannot decode toward a reference."""
        engine = self.interface.engine
        if engine.family != "ar_nar" or engine.codec.name != "mel_rvq":
            raise APIError(400, f"voice_match: this model ({engine.family} over "
                           f"{engine.codec.name}) cannot decode toward the reference; it needs "
                           "an AR+NAR model over mel_rvq (send 0 or leave it out)",
                           param="voice_match")

    def work(self, config: GenerationConfig, voice: str):
        """The worker-thread job: encode (or reuse) the voice, then yield audio chunks."""
        def run(job):
            speaker = self.store.resolve(voice)
            make = self.interface.stream if config.generation_type == GenerationType.STREAM \
                else self.interface.sentences
            for chunk in make(replace(config, speaker=speaker)):
                yield chunk
                if job.cancelled:
                    return
        return run

    def join(self, chunks: list) -> torch.Tensor:
        """Chunks of one sentence are contiguous audio; sentences meet with the library's
        short cross-fade, as ``Interface.generate`` joins them."""
        by_text: dict[int, list] = {}
        for chunk in chunks:
            by_text.setdefault(chunk.text_index, []).append(chunk.audio)
        pieces = [torch.cat(parts) for _, parts in sorted(by_text.items())]
        overlap = int(round(GenerationConfig(text=".").crossfade_seconds * self.sample_rate))
        return crossfade_join(pieces, overlap)
