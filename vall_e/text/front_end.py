"""The one text front end: what both model families do to text before any model code sees it.

    raw text --prepare_text--> clean text --text_units--> units --(vocabulary)--> ids

``prepare_text`` normalizes once (``normalize_text``), drops what the language cannot speak
(with a warning) and refuses empty or over-long text. ``text_units`` turns the clean text into
the units a model was trained on, by kind:

- ``"phonemes"``: espeak IPA phones (``phonemize``): AR+NAR models, flat-layout LLM-TTS models;
- ``"characters"``: the text's characters: flat-layout LLM-TTS models trained on characters;
- ``"text"``: the text itself as one unit: layouts whose vocabulary is a subword tokenizer
  (Orpheus's Hugging Face tokenizer reads the string).

Mapping units to ids is the checkpoint's vocabulary's job: AR+NAR's ``PhonemeTokenizer``
(``phoneme_ids``), an LLM-TTS layout's ``prompt_ids`` / ``training_ids``. The layouts receive
units, never raw text, and do not normalize again (``phonemize`` alone re-normalizes, as its
public contract for direct callers; ``normalize_text`` is idempotent).
"""
from __future__ import annotations

import warnings

from vall_e.errors import TextError
from vall_e.text.normalize import normalize_text
from vall_e.text.phonemize import phonemize
from vall_e.text.script import describe_removed, speakable

UNIT_KINDS = ("phonemes", "characters", "text")


def prepare_text(text: str, settings) -> str:
    """Normalized ``text``, refused when empty, with nothing the language can speak, or longer
    than one utterance may be; characters of another script or emoji are dropped with a
    warning (``vall_e.text.script``). ``settings`` gives ``language`` and ``max_text_chars``
    (the engines' ``PromptSettings``)."""
    if not isinstance(text, str):
        raise TextError(f"text must be a string, got {type(text).__name__}")
    text = normalize_text(text)
    if not text:
        raise TextError("text is empty: give something to say")
    text, removed = speakable(text, settings.language)
    if removed:  # espeak would read them as "Chinese letter", "grinning face"
        warnings.warn(describe_removed(removed, settings.language), stacklevel=3)
    if len(text) > settings.max_text_chars:
        raise TextError(f"text is {len(text)} characters; one utterance takes at most "
                        f"{settings.max_text_chars} (split it into sentences, or use CHUNKED "
                        "generation)")
    return text


def load_text_units(language: str, kind: str = "phonemes") -> None:
    """Load now what ``text_units`` needs for ``language`` (for phonemes: espeak-ng, the
    language's voice and dictionary, ~0.1-0.3 s once per process), so that an engine pays it
    when it loads rather than inside its first synthesis; an unknown language is refused here."""
    if kind == "phonemes":
        phonemize("a", language)


def text_units(text: str, language: str, kind: str = "phonemes") -> list[str]:
    """The units of ``kind`` (see ``UNIT_KINDS``) of ``text``, which ``prepare_text`` (or the
    caller) has already normalized: it is not normalized again here."""
    if kind == "phonemes":
        return phonemize(text, language)
    if kind == "characters":
        return list(text)
    if kind == "text":
        return [text]
    raise ValueError(f"unknown text unit kind {kind!r}; expected one of {list(UNIT_KINDS)}")


def training_units(text: str, phonemes, kind: str = "phonemes") -> list[str]:
    """The units of one prepared training utterance: its stored ``phonemes`` (phonemized when
    the data was prepared), or its transcript ``text`` normalized once into characters, or the
    transcript as it is (a subword tokenizer reads it)."""
    if kind == "phonemes":
        return list(phonemes)
    if kind == "characters":
        return list(normalize_text(text))
    if kind == "text":
        return [text]
    raise ValueError(f"unknown text unit kind {kind!r}; expected one of {list(UNIT_KINDS)}")


def phoneme_ids(text: str, settings, tokenizer) -> list[int]:
    """Raw ``text`` -> the phoneme ids an AR+NAR model reads (with BOS and EOS), through
    ``tokenizer`` (the checkpoint's ``PhonemeTokenizer``)."""
    text = prepare_text(text, settings)
    return tokenizer.encode(text_units(text, settings.language, "phonemes"), add_bos_eos=True)
