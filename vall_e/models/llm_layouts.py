"""Token layouts of the LLM-TTS family: how text, a voice prompt and codec codes become one flat
sequence of token ids for a causal LM, and how generated ids become codes again.

Both layouts interleave the codec's codes frame by frame. Each frame is ``tokens_per_frame``
*slots*; slot ``j`` holds a code of codec level ``slot_levels[j]`` and owns the id range
``audio_offset + j * codebook_size + [0, codebook_size)``. Reading generated ids back is
self-aligning: the next id must belong to the slot that comes next; an id that does not (a text
token, or an audio id of the wrong slot) is dropped and counted, and the frame goes on filling.
An unfinished last frame is dropped (counted too), so a frame is only ever decoded whole.

``OrpheusLayout`` uses Orpheus's exact ids (a real Orpheus checkpoint works unmodified):
    audio id = 128266 + slot * 4096 + code, 7 slots per SNAC frame, in the order
    L0[i], L1[2i], L2[4i], L2[4i+1], L1[2i+1], L2[4i+2], L2[4i+3]
    prompt = SOH, tokenizer("{voice}: {text}"), EOT, EOH, SOA, SOS; then speech; then EOS, EOA
Our SNAC codec orders the same 7 codes coarse-to-fine (L0, L1a, L1b, L2a..L2d; see
``vall_e.codecs.snac``), so slot j carries our sub-level ``ORPHEUS_SLOT_LEVELS[j]``.

``FlatLayout`` serves any codec with K levels (codes in level order) and text as phonemes or
characters, for models trained here from scratch:
    BOS, PROMPT_START, <reference audio>, PROMPT_END, TEXT_START, <text>, TEXT_END,
    SPEECH_START, <speech>, SPEECH_END
The reference audio is another recording of the same speaker (no transcript needed), as in
VALL-E's training; at inference it is the speaker profile's codes.

A layout reads no raw text: the text front end (``vall_e.text.front_end``) normalizes and
phonemizes before any model code, and hands the layout *units* of its ``text_units`` kind
(phonemes, characters, or the text as one unit for Orpheus's subword tokenizer); the layout
maps them to ids with its own vocabulary.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from vall_e.codecs.base import CodecInfo
from vall_e.errors import CheckpointError, CodecMismatchError, TextError
from vall_e.text.tokenizer import PhonemeTokenizer


@dataclass
class DecodedCodes:
    codes: torch.Tensor  # [K, T] int64
    dropped: int  # generated ids that did not fit the slot sequence (and unfinished frames)


class InterleavedLayout(abc.ABC):
    """Shared slot arithmetic; subclasses define ids of the text, the prompt and the stops."""

    name: str
    pad_id: int
    stop_id: int  # the end-of-speech id: the sampler's STOP (length penalty acts on it)
    text_units: str  # the units the front end hands it: "phonemes", "characters" or "text"
    reads_reference_transcript = False  # whether prompt_ids uses a reference's transcript
    names_voices = False  # whether it is trained and prompted with voice names ("tara: ...")

    def __init__(self, audio_offset: int, codebook_size: int, slot_levels: Sequence[int]):
        self.audio_offset = audio_offset
        self.codebook_size = codebook_size
        self.slot_levels = list(slot_levels)
        self.tokens_per_frame = len(self.slot_levels)
        self.n_levels = len(set(self.slot_levels))
        self._masks: dict[tuple, torch.Tensor] = {}

    @property
    def audio_end(self) -> int:
        return self.audio_offset + self.tokens_per_frame * self.codebook_size

    @property
    def stop_ids(self) -> tuple[int, ...]:
        """Ids that end the speech when generated (the first is ``stop_id``)."""
        return (self.stop_id,)

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Smallest LM vocabulary that holds every id of this layout."""

    # ----- codes <-> ids ------------------------------------------------------------------
    def codes_to_tokens(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [K, T] -> ids [T * tokens_per_frame], frame by frame."""
        if codes.dim() != 2 or codes.shape[0] != self.n_levels:
            raise CodecMismatchError(
                f"the {self.name} layout needs codes [{self.n_levels}, T], got {list(codes.shape)}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size):
            raise CodecMismatchError(
                f"codes outside [0, {self.codebook_size}) cannot be laid out as {self.name} tokens")
        slots = codes[self.slot_levels].long()  # [tokens_per_frame, T]
        offsets = self.audio_offset + self.codebook_size * torch.arange(
            self.tokens_per_frame, device=codes.device)
        return (slots + offsets[:, None]).t().reshape(-1)

    def slot_of(self, token: int) -> int | None:
        if self.audio_offset <= token < self.audio_end:
            return (token - self.audio_offset) // self.codebook_size
        return None

    def tokens_to_codes(self, tokens: Sequence[int] | torch.Tensor) -> DecodedCodes:
        """Generated ids -> whole frames of codes [K, T]; ids that break the order are dropped."""
        assembler = FrameAssembler(self)
        frames = [f for f in map(assembler.feed, _as_list(tokens)) if f is not None]
        codes = torch.stack(frames, dim=1) if frames else torch.zeros(self.n_levels, 0, dtype=torch.long)
        return DecodedCodes(codes, assembler.dropped + assembler.pending)

    # ----- constrained decoding -----------------------------------------------------------
    def step_mask(self, step: int, vocab_size: int, device: torch.device | str) -> torch.Tensor:
        """Allowed ids [V] at speech step ``step``: the next slot's codes, and the stops at a
        frame boundary. Decoding under this mask cannot produce a malformed frame."""
        slot = step % self.tokens_per_frame
        key = (slot, vocab_size, str(device))
        if key not in self._masks:
            mask = torch.zeros(vocab_size, dtype=torch.bool)
            start = self.audio_offset + slot * self.codebook_size
            mask[start : start + self.codebook_size] = True
            if slot == 0:
                mask[self.stop_id] = True
            self._masks[key] = mask.to(device)
        return self._masks[key]

    # ----- sequences ----------------------------------------------------------------------
    @abc.abstractmethod
    def prompt_ids(self, units: list[str], voice: str | None = None,
                   reference_codes: torch.Tensor | None = None,
                   reference_units: list[str] | None = None) -> list[int]:
        """The ids fed before the first speech token is generated. ``units``: the text's units
        (``text_units``) from the front end; ``reference_units``: the reference transcript's,
        given only where ``reads_reference_transcript``."""

    @abc.abstractmethod
    def training_ids(self, units: list[str], speaker: str,
                     prompt_codes: torch.Tensor, codes: torch.Tensor) -> tuple[list[int], int]:
        """(ids of one training sequence, how many leading ids are the prompt) for one utterance.

        ``units`` are the utterance's units (``vall_e.text.front_end.training_units``);
        ``prompt_codes`` are codes of another recording of ``speaker`` (flat layout)."""

    @abc.abstractmethod
    def to_dict(self) -> dict:
        """What ``vall_e.json`` stores to rebuild the layout (with ``save``'s files)."""

    @abc.abstractmethod
    def save(self, directory: Path) -> None:
        """Write the layout's text vocabulary / tokenizer files into a checkpoint directory."""

    def check_codec(self, info: CodecInfo) -> None:
        if info.n_levels != self.n_levels or info.codebook_size != self.codebook_size:
            raise CodecMismatchError(
                f"the {self.name} layout lays out {self.n_levels} levels x {self.codebook_size} "
                f"codes, but the codec is {info.describe()}")


def _as_list(tokens) -> list[int]:
    return tokens.tolist() if isinstance(tokens, torch.Tensor) else list(tokens)


class FrameAssembler:
    """Incremental form of ``tokens_to_codes``: feed ids one at a time, get whole frames.

    Streaming uses it to turn ids into frames while the LM runs; ``dropped`` counts ids that
    did not fit the slot sequence, ``pending`` the ids of the unfinished frame.
    """

    def __init__(self, layout: InterleavedLayout):
        self.layout = layout
        self.frame: list[int] = []
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self.frame)

    def feed(self, token: int) -> torch.Tensor | None:
        """Returns the frame's codes [K] when ``token`` completes one, else None."""
        layout = self.layout
        if layout.slot_of(token) != len(self.frame):
            self.dropped += 1
            return None
        self.frame.append(token - layout.audio_offset - len(self.frame) * layout.codebook_size)
        if len(self.frame) < layout.tokens_per_frame:
            return None
        codes = torch.zeros(layout.n_levels, dtype=torch.long)
        codes[layout.slot_levels] = torch.tensor(self.frame, dtype=torch.long)
        self.frame = []
        return codes


# ----- Orpheus ---------------------------------------------------------------------------------

ORPHEUS_AUDIO_OFFSET = 128266
ORPHEUS_CODEBOOK = 4096
ORPHEUS_SLOT_LEVELS = (0, 1, 3, 4, 2, 5, 6)  # our SNAC sub-level carried by each Orpheus slot
ORPHEUS_VOICES = ("tara", "leah", "jess", "leo", "dan", "mia", "zac", "zoe")


class OrpheusLayout(InterleavedLayout):
    name = "orpheus"
    START_OF_SPEECH = 128257
    END_OF_SPEECH = 128258
    START_OF_HUMAN = 128259
    END_OF_HUMAN = 128260
    START_OF_AI = 128261
    END_OF_AI = 128262
    PAD = 128263
    END_OF_TEXT = 128009
    pad_id = PAD
    stop_id = END_OF_SPEECH
    text_units = "text"  # its Hugging Face tokenizer reads the string
    reads_reference_transcript = True  # a clone repeats the reference's turn: transcript + speech
    names_voices = True  # "{voice}: {text}"

    def __init__(self, tokenizer):
        """``tokenizer``: the checkpoint's Hugging Face tokenizer for the text part."""
        super().__init__(ORPHEUS_AUDIO_OFFSET, ORPHEUS_CODEBOOK, ORPHEUS_SLOT_LEVELS)
        self.tokenizer = tokenizer

    @property
    def vocab_size(self) -> int:
        return self.audio_end  # 156938

    @property
    def stop_ids(self) -> tuple[int, ...]:
        # Orpheus closes speech with EOS then end-of-AI; a model may also emit end-of-text
        return (self.END_OF_SPEECH, self.END_OF_AI, self.END_OF_TEXT)

    def _turn(self, units: list[str], voice: str | None) -> list[int]:
        text = "".join(units)
        content = f"{voice}: {text}" if voice else text
        ids = self.tokenizer(content)["input_ids"]
        return [self.START_OF_HUMAN, *ids, self.END_OF_TEXT, self.END_OF_HUMAN,
                self.START_OF_AI, self.START_OF_SPEECH]

    def prompt_ids(self, units, voice=None, reference_codes=None, reference_units=None):
        prior = []
        if reference_codes is not None:
            # Orpheus clones a voice from an earlier turn: its transcript, then its speech
            if not reference_units or not "".join(reference_units):
                raise TextError("the orpheus layout clones a reference only with its transcript: "
                                "create the speaker with transcript=... (or use a voice name)")
            prior = [*self._turn(reference_units, None), *self.codes_to_tokens(reference_codes).tolist(),
                     self.END_OF_SPEECH, self.END_OF_AI]
        return prior + self._turn(units, voice)

    def training_ids(self, units, speaker, prompt_codes, codes):
        prefix = self._turn(units, speaker)
        ids = prefix + self.codes_to_tokens(codes).tolist() + [self.END_OF_SPEECH, self.END_OF_AI]
        return ids, len(prefix)

    def to_dict(self) -> dict:
        return {"name": self.name}

    def save(self, directory: Path) -> None:
        self.tokenizer.save_pretrained(str(directory))

    def check_codec(self, info: CodecInfo) -> None:
        super().check_codec(info)
        if info.name != "snac":
            raise CodecMismatchError(f"the orpheus layout carries SNAC codes, not {info.describe()}")


# ----- flat (any codec, trained here) ----------------------------------------------------------

class FlatLayout(InterleavedLayout):
    name = "flat"
    PAD, BOS, PROMPT_START, PROMPT_END, TEXT_START, TEXT_END, SPEECH_START, SPEECH_END = range(8)
    N_SPECIAL = 8
    pad_id = PAD
    stop_id = SPEECH_END

    def __init__(self, text_vocab: PhonemeTokenizer, text_units: str, n_levels: int,
                 codebook_size: int):
        self.text_vocab = text_vocab
        self.text_units = text_units
        super().__init__(self.N_SPECIAL + len(text_vocab), codebook_size, range(n_levels))

    @property
    def vocab_size(self) -> int:
        return self.audio_end

    def _text(self, units: list[str]) -> list[int]:
        return [self.N_SPECIAL + i for i in self.text_vocab.encode(units, add_bos_eos=False)]

    def _sequence(self, units: list[str], prompt_codes: torch.Tensor | None) -> list[int]:
        prompt = [] if prompt_codes is None else self.codes_to_tokens(prompt_codes).tolist()
        return [self.BOS, self.PROMPT_START, *prompt, self.PROMPT_END, self.TEXT_START,
                *self._text(units), self.TEXT_END, self.SPEECH_START]

    def prompt_ids(self, units, voice=None, reference_codes=None, reference_units=None):
        if voice is not None:
            raise TextError("flat-layout models are not trained with voice names; create a "
                            "speaker from a reference recording instead")
        if reference_codes is None:
            raise TextError("a flat-layout model needs a speaker made from a reference recording")
        return self._sequence(units, reference_codes)

    def training_ids(self, units, speaker, prompt_codes, codes):
        prefix = self._sequence(units, prompt_codes)
        return prefix + self.codes_to_tokens(codes).tolist() + [self.SPEECH_END], len(prefix)

    def to_dict(self) -> dict:
        return {"name": self.name, "text_units": self.text_units, "n_levels": self.n_levels,
                "codebook_size": self.codebook_size}

    def save(self, directory: Path) -> None:
        self.text_vocab.save(Path(directory) / "vocab.json")


def load_layout(spec: dict, directory: Path):
    """Rebuild a layout from ``vall_e.json``'s ``layout`` entry and the checkpoint's files."""
    name = spec.get("name") if isinstance(spec, dict) else None
    if name == "flat":
        vocab = PhonemeTokenizer.load(Path(directory) / "vocab.json")
        return FlatLayout(vocab, spec["text_units"], int(spec["n_levels"]), int(spec["codebook_size"]))
    if name == "orpheus":
        return OrpheusLayout(load_hf_tokenizer(directory))
    raise CheckpointError(f"{directory}: unknown token layout {spec!r}; expected flat or orpheus")


def load_hf_tokenizer(directory: str | Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    except Exception as exc:  # transformers raises OSError / ValueError alike
        reason = " ".join(str(exc).split())[:160]
        raise CheckpointError(f"{directory}: no usable tokenizer ({reason}); an orpheus-layout "
                              "checkpoint needs its tokenizer files") from None
