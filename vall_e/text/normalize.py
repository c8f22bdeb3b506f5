"""Text clean-up and sentence splitting, the first step before phonemization.

Contract:

* ``normalize_text(text)`` returns NFKC-normalized text whose typographic quotes, dashes and
  ellipses are replaced by their ASCII equivalents, invisible control/format characters and
  lone surrogates are removed, and every run of whitespace is a single space with none at either end. Letters,
  digits and case are kept: espeak-ng expands numbers and abbreviations itself. Raises
  ``TextError`` when nothing is left.
* ``split_sentences(text, max_chars)`` cuts text into pieces for chunked synthesis. Every piece
  is non-empty, has no leading/trailing whitespace, is at most ``max_chars`` characters long,
  and the pieces joined in order contain exactly the non-whitespace characters of ``text``
  (nothing is dropped, reordered or rewritten -- it does not normalize).
"""

from __future__ import annotations

import re
import unicodedata

from vall_e.errors import TextError

# NFKC already turns "…" into "..." and full-width forms ("，" "！") into ASCII; these are the
# typographic and CJK marks it leaves alone. An em dash marks a clause break, so it becomes a
# spaced " - " (which phonemize() keeps as a pause token); en dashes join ranges ("1990–2000")
# and minus signs prefix numbers, so they become a bare "-". CJK text puts no space after "。"
# or "、", so they get one: the boundary that sentence splitting and espeak expect.
_ASCII_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-",
        "\u2014": " - ", "\u2015": " - ",
        "\u2026": "...", "\u3002": ". ", "\u3001": ", ", "\u300c": '"', "\u300d": '"',
        "\u300e": '"', "\u300f": '"',
    }
)

# Words that end in "." without ending a sentence. Titles precede a name, so they never end a
# sentence in practice; the others end one only when the next word is capitalized
# ("... pears, etc. Then we left." vs "apples, etc. and more").
_TITLES = frozenset({"mr", "mrs", "ms", "dr", "st", "prof", "mt", "rev", "sgt", "capt"})
_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "jr", "sr", "approx", "no", "fig", "cf"})

# A run of terminators plus any closing quotes/brackets, followed by a space or the end.
# Requiring the space means "3.14", "e.g" (inside "e.g.") and "example.com" never match.
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]}]*(?= |$)")
_CLAUSE_END = re.compile(r"[;:][\"')\]}]*(?= |$)")
_COMMA_END = re.compile(r",[\"')\]}]*(?= |$)")
_OPENERS = "\"'([{"


def normalize_text(text: str) -> str:
    """Return ``text`` as clean single-line ASCII-punctuated text; raise TextError if empty."""
    if not isinstance(text, str):
        raise TextError(f"text must be a string, got {type(text).__name__}: pass the sentence as str")
    text = unicodedata.normalize("NFKC", text).translate(_ASCII_MAP)
    # Zero-width spaces, BOMs, soft hyphens and stray control bytes are invisible but would
    # reach espeak as unknown symbols; whitespace controls (\n, \t) are collapsed below instead.
    # Lone surrogates (undecodable bytes in argv arrive as "\udcff") cannot even be encoded
    # for espeak: dropped with the rest.
    text = "".join(
        ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    text = " ".join(text.split())
    if not text:
        raise TextError("text is empty: give the sentence to speak")
    return text


def split_sentences(text: str, max_chars: int = 300) -> list[str]:
    """Split ``text`` into sentences of at most ``max_chars`` characters (see module docstring).

    Sentences end at ``. ! ?``. A sentence longer than ``max_chars`` is cut further at ``; :``,
    then at commas, then between words, and a single word longer than ``max_chars`` is cut
    inside; sub-sentence pieces are packed greedily so the cuts are as few as possible.
    """
    if not isinstance(max_chars, int) or max_chars < 1:
        raise TextError(f"max_chars must be a positive integer, got {max_chars!r}: use e.g. 300")
    if not isinstance(text, str):
        raise TextError(f"text must be a string, got {type(text).__name__}: pass the text as str")
    text = " ".join(text.split())
    if not text:
        raise TextError("text is empty: give the sentence to speak")
    pieces: list[str] = []
    for sentence in _split_at(text, _SENTENCE_END, _is_sentence_end):
        pieces.extend(_fit(sentence, max_chars))
    return pieces


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    """False when a lone "." after an abbreviation (or a single initial) does not end a sentence."""
    if match.group().rstrip("\"')]}") != ".":
        return True  # "?", "!", "..." and "?!" always end a sentence
    word_start = text.rfind(" ", 0, match.start()) + 1
    word = text[word_start : match.start()].lstrip(_OPENERS).lower()
    next_char = text[match.end() + 1 : match.end() + 2]
    if word in _TITLES:
        return False
    # Single initials ("J. K. Rowling") are treated like titles; "I." is far more often a
    # sentence ending ("So did I.") than an initial, so it is excluded.
    if len(word) == 1 and word.isalpha() and word != "i":
        return False
    if word in _ABBREVIATIONS:
        return next_char.isupper()
    return True


def _split_at(text: str, pattern: re.Pattern[str], accept=None) -> list[str]:
    """Cut ``text`` (whitespace already collapsed) after each accepted ``pattern`` match."""
    parts: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        if accept is not None and not accept(text, match):
            continue
        parts.append(text[start : match.end()].strip())
        start = match.end()
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _fit(sentence: str, max_chars: int) -> list[str]:
    """Break one sentence into pieces of at most ``max_chars``, coarsest boundaries first."""
    if len(sentence) <= max_chars:
        return [sentence]
    for pattern in (_CLAUSE_END, _COMMA_END, None):
        parts = sentence.split(" ") if pattern is None else _split_at(sentence, pattern)
        if len(parts) > 1:
            pieces: list[str] = []
            for part in _pack(parts, max_chars):
                pieces.extend(_fit(part, max_chars))
            return pieces
    # One word longer than max_chars (a URL, a run of digits): nothing to respect but the limit.
    return [sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars)]


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive parts with spaces while the result stays within max_chars.

    Packing avoids a one-word piece per comma; a part that alone exceeds the limit is returned
    as it is and cut further by the caller.
    """
    packed: list[str] = []
    for part in parts:
        if packed and len(packed[-1]) + 1 + len(part) <= max_chars:
            packed[-1] = f"{packed[-1]} {part}"
        else:
            packed.append(part)
    return packed
