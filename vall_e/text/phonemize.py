"""Grapheme-to-phoneme conversion with espeak-ng (bundled by ``espeakng_loader``).

Token scheme of ``phonemize(text, language)`` -- a flat ``list[str]``:

* a phone is one token, possibly several code points: ``"h"``, ``"ə"``, ``"oʊ"``, ``"ɔːɹ"``,
  ``"ɔ̃"`` (espeak-ng's phone segmentation, length marks and diacritics kept on the phone);
* stress is a separate token placed before the phone that carries it: ``"ˈ"`` (primary) or
  ``"ˌ"`` (secondary), so ``"ˈoʊ"`` and ``"oʊ"`` share one vocabulary entry;
* a word boundary is the token ``" "``, wherever espeak-ng separates words (never doubled,
  never at either end); punctuation keeps the spacing of the text, so ``"a, b"`` gives
  ``..., ",", " ", ...`` with no ``" "`` before the comma;
* punctuation is one token per character: ``, . ! ? ; : " ( ) [ ] { } ¡ ¿`` and a
  free-standing ``-`` (from a spaced hyphen or an em dash); ``"..."`` is three ``"."`` tokens.
  Hyphens inside words are not tokens. Only marks from the text become punctuation tokens:
  an ASCII character inside an espeak-ng phone name (Mandarin ``"s."``, tone digits in
  ``"i2"``) stays part of that phone.

Example: ``phonemize("Hello, world!")`` ->
``["h", "ə", "l", "ˈ", "oʊ", ",", " ", "w", "ˈ", "ɜː", "l", "d", "!"]``.

Text is passed through ``normalize_text`` first (so empty text raises ``TextError``). Nothing
happens at import time: the espeak-ng library is located on the first call, and one backend
per language is cached (about 50 ms to create, then well under 1 ms per sentence). Calls are
serialized with a lock because the espeak-ng library keeps global state.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from vall_e.errors import TextError
from vall_e.text.normalize import normalize_text

STRESS_MARKS = frozenset("ˈˌ")
PUNCTUATION = frozenset(';:,.!?¡¿"(){}[]-')
WORD_BOUNDARY = " "

# phonemizer's default marks, but written as a pattern so a free-standing hyphen (" - ") is
# kept as a pause while hyphens inside words ("well-known") and minus signs ("-5") still reach
# espeak. "." and "," between digits are not marks, so "3.14" is read as a decimal number.
_MARKS = re.compile(r'([;:!?¡¿"(){}\[\]]|(?<![0-9])[.,]|[.,](?![0-9])|(?<!\S)-+(?!\S))')
_PHONE_SEP = "|"
_SUGGESTED = ("en-us", "en-gb", "fr-fr", "de", "es", "ja", "cmn")

_lock = threading.Lock()
_backends: dict[str, Any] = {}
_languages: dict[str, str] | None = None  # lower-cased code -> espeak's own spelling
# phonemizer logs word-count mismatches and removed language-switch flags at WARNING for
# every call; they are expected here, so they go to a child logger that is quiet by default.
_espeak_logger = logging.getLogger(f"{__name__}.espeak")


def phonemize(text: str, language: str = "en-us") -> list[str]:
    """Return the phone tokens of ``text`` in ``language`` (see the module docstring)."""
    text = normalize_text(text)
    # Punctuation is cut out here rather than by phonemizer's preserve_punctuation: that way
    # every mark token provably came from the text, and a "." or "-" that espeak writes inside
    # a word (Mandarin "s.", French "lə-") can never be mistaken for one.
    # re.split with one capture group alternates text, mark, text, ...: odd indices are marks.
    parts = [(i % 2 == 1, part) for i, part in enumerate(_MARKS.split(text)) if part]
    spoken = [part.strip() for is_mark, part in parts if not is_mark and part.strip()]
    with _lock:
        backend = _backend(language)
        from phonemizer.separator import Separator

        separator = Separator(phone=_PHONE_SEP, word=WORD_BOUNDARY, syllable="")
        lines = backend.phonemize(spoken, separator=separator, strip=True) if spoken else []
    return _assemble(parts, iter(lines))


def _assemble(parts: list[tuple[bool, str]], lines: Iterator[str]) -> list[str]:
    """Interleave mark tokens with phonemized text, with " " wherever the text had spaces."""
    tokens: list[str] = []
    space_pending = False
    for is_mark, part in parts:
        if is_mark:
            new = list(part)
        else:
            space_pending = space_pending or part[0].isspace()
            new = _phones(next(lines)) if part.strip() else []
        # A part espeak says nothing for (a lone "*") must not leave a doubled boundary.
        if new:
            if space_pending and tokens:
                tokens.append(WORD_BOUNDARY)
            tokens.extend(new)
            space_pending = False
        space_pending = space_pending or part[-1].isspace()
    return tokens


def phonemes_to_string(tokens: Iterable[str]) -> str:
    """Join tokens for display: phones and marks concatenated, word boundaries kept as spaces."""
    return "".join(tokens)


def supported_languages() -> list[str]:
    """Return the espeak-ng language codes accepted by ``phonemize``, sorted."""
    with _lock:
        return sorted(_language_table().values())


def _phones(phonemized: str) -> list[str]:
    """Turn one espeak line like ``"h|ə|l|ˈoʊ w|ˈɜː|l|d"`` into tokens with word boundaries."""
    tokens: list[str] = []
    for word in phonemized.split(WORD_BOUNDARY):
        word_tokens: list[str] = []
        for chunk in word.split(_PHONE_SEP):
            word_tokens.extend(_split_chunk(chunk))
        if word_tokens:
            if tokens:
                tokens.append(WORD_BOUNDARY)
            tokens.extend(word_tokens)
    return tokens


def _split_chunk(chunk: str) -> list[str]:
    """Split one phone chunk such as ``"ˈoʊ"`` into stress tokens and the phone."""
    tokens: list[str] = []
    phone = ""
    for ch in chunk:
        if ch == "-":
            # espeak writes "-" for a clitic/compound join (French "l|ə-"): not a sound.
            continue
        if ch in STRESS_MARKS:
            if phone:
                tokens.append(phone)
                phone = ""
            tokens.append(ch)
        else:
            phone += ch
    if phone:
        tokens.append(phone)
    return tokens


def _backend(language: str) -> Any:
    """Return the cached espeak backend for ``language``; caller holds ``_lock``."""
    if not isinstance(language, str):
        raise TextError(f"language must be a string such as 'en-us', got {type(language).__name__}")
    key = language.strip().lower().replace("_", "-")
    backend = _backends.get(key)
    if backend is not None:
        return backend
    table = _language_table()
    if _espeak_logger.level == logging.NOTSET:
        _espeak_logger.setLevel(logging.ERROR)  # a level set by the application wins
    if key not in table:
        raise TextError(_unknown_language_message(language, table))
    from phonemizer.backend import EspeakBackend

    try:
        backend = EspeakBackend(
            table[key],
            punctuation_marks=_MARKS,
            with_stress=True,
            # A foreign word inside a sentence is otherwise wrapped in "(en)...(fr)" flags
            # that would become bogus tokens; removing the flags keeps espeak's phones.
            language_switch="remove-flags",
            words_mismatch="ignore",
            logger=_espeak_logger,
        )
    except RuntimeError as error:
        raise TextError(
            f"espeak-ng could not load language {language!r} ({error}): reinstall espeakng-loader"
        ) from None
    _backends[key] = backend
    return backend


def _language_table() -> dict[str, str]:
    """Load espeak-ng once and return its languages; caller holds ``_lock``."""
    global _languages
    if _languages is None:
        _configure_espeak()
        from phonemizer.backend import EspeakBackend

        try:
            codes = EspeakBackend.supported_languages()
        except RuntimeError as error:
            raise TextError(
                f"the bundled espeak-ng library failed to load ({error}): reinstall espeakng-loader"
            ) from None
        _languages = {code.lower(): code for code in codes}
    return _languages


def _configure_espeak() -> None:
    """Point phonemizer at the libespeak-ng and voice data bundled by ``espeakng_loader``."""
    import espeakng_loader
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    EspeakWrapper.set_library(espeakng_loader.get_library_path())
    data_path = espeakng_loader.get_data_path()
    if hasattr(EspeakWrapper, "set_data_path"):
        EspeakWrapper.set_data_path(data_path)
    else:
        # phonemizer < 3.3 cannot pass a data path; libespeak-ng reads this variable instead.
        os.environ.setdefault("ESPEAK_DATA_PATH", str(data_path))


def _unknown_language_message(language: str, table: dict[str, str]) -> str:
    close = difflib.get_close_matches(language.strip().lower(), list(table), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(table[c] for c in close)}? " if close else ""
    return (
        f"unknown language {language!r} for espeak-ng: {hint}use an espeak-ng voice code "
        f"such as {', '.join(_SUGGESTED)} (see espeak-ng --voices; {len(table)} are supported)"
    )
