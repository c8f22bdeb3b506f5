"""Text normalization for WER/CER: the same rule for the reference and the hypothesis.

Whisper writes "42", "Mr." and "colour" where our sentences say "forty-two", "mister" and
"color"; scoring those as errors would measure spelling conventions, not intelligibility. So
both sides are lower-cased, numbers are written out as words, a few British spellings become
American, and punctuation (including hyphens) becomes space. Apostrophes inside words stay
("don't" is one word in both transcripts).
"""
from __future__ import annotations

import re

from vall_e.text.numbers import cardinal, ordinal

# Small on purpose: only the spelling pairs Whisper is known to flip between (our corpus is
# American English; Whisper's output follows whichever spelling its decoder prefers).
_SPELLING = {
    "colour": "color", "colours": "colors", "favourite": "favorite", "favour": "favor",
    "honour": "honor", "neighbour": "neighbor", "neighbours": "neighbors", "flavour": "flavor",
    "behaviour": "behavior", "harbour": "harbor", "centre": "center", "theatre": "theater",
    "metre": "meter", "metres": "meters", "litre": "liter", "grey": "gray", "organise": "organize",
    "organised": "organized", "realise": "realize", "realised": "realized", "travelled": "traveled",
    "travelling": "traveling", "cancelled": "canceled", "jewellery": "jewelry", "cheque": "check",
    "programme": "program", "catalogue": "catalog", "dialogue": "dialog", "okay": "ok",
}
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "vs": "versus",
                  # units Whisper abbreviates after a number ("thirty pounds" -> "30 lbs.")
                  "lbs": "pounds", "lb": "pound", "oz": "ounces", "ft": "feet", "kg": "kilograms",
                  "km": "kilometers", "mph": "miles per hour"}
_SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "@": " at "}

_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_MONEY = re.compile(r"\$(\d+)(?:\.(\d\d))?\b")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_INTEGER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^a-z0-9' ]+")
_EDGE_APOSTROPHE = re.compile(r"(?<![a-z])'|'(?![a-z])")


def _say(number: str) -> str:
    """An integer written as words; digit by digit when too long for ``cardinal``."""
    value = int(number)
    if value < 1_000_000_000:
        return cardinal(value)
    return " ".join(cardinal(int(d)) for d in number)


def _money(match: re.Match) -> str:
    dollars, cents = int(match.group(1)), int(match.group(2) or 0)
    words = f"{_say(match.group(1))} dollar{'s' if dollars != 1 else ''}"
    return words + (f" {cardinal(cents)} cent{'s' if cents != 1 else ''}" if cents else "")


def numbers_to_words(text: str) -> str:
    """Replace digits by words: "$3.50" -> "three dollars fifty cents", "1,200" -> "one
    thousand two hundred", "2.5" -> "two point five", "21st" -> "twenty-first"."""
    text = _MONEY.sub(_money, text)
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _ORDINAL.sub(lambda m: ordinal(int(m.group(1))) if len(m.group(1)) < 10 else m.group(0), text)
    text = _DECIMAL.sub(lambda m: f"{_say(m.group(1))} point "
                        + " ".join(cardinal(int(d)) for d in m.group(2)), text)
    return _INTEGER.sub(lambda m: f" {_say(m.group(0))} ", text)


def normalize_text(text: str) -> str:
    """Lower case, numbers as words, American spelling, no punctuation, single spaces."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    text = numbers_to_words(text)
    text = _NOT_WORD.sub(" ", text)  # hyphens too: "forty-two" and "forty two" are the same
    text = _EDGE_APOSTROPHE.sub(" ", text)  # quotes, not contractions
    words = [_ABBREVIATIONS.get(w, _SPELLING.get(w, w)) for w in text.split()]
    return " ".join(words)
