"""Numbers written out as words, the way a reader would say them.

The corpus recipe writes numbers as words (never digits) so that the transcript, the phonemes
and the teacher's reading cannot disagree about how "1984" or "3:45" is said; the WER
normalization of ``vall_e.eval`` uses the same words so "7" and "seven" score alike.
"""
from __future__ import annotations

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((1_000_000, "million"), (1000, "thousand"), (100, "hundred"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def cardinal(n: int) -> str:
    """``cardinal(342) == "three hundred forty-two"``; 0 <= n < 10**9."""
    if not 0 <= n < 1_000_000_000:
        raise ValueError(f"cardinal() takes 0 <= n < 10**9, got {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            words = f"{cardinal(head)} {name}"
            return f"{words} {cardinal(rest)}" if rest else words
    raise AssertionError("unreachable")


def ordinal(n: int) -> str:
    """``ordinal(21) == "twenty-first"``, ``ordinal(40) == "fortieth"``."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split()[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def year(n: int) -> str:
    """Years read in pairs: 1984 -> "nineteen eighty-four", 1906 -> "nineteen oh six",
    2000 -> "two thousand", 2015 -> "twenty fifteen"."""
    if not 1000 <= n <= 2099:
        raise ValueError(f"year() takes 1000..2099, got {n}")
    if n == 2000 or (2000 < n < 2010):
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + cardinal(low) if low < 10 else cardinal(low)}"


def clock(hour: int, minute: int) -> str:
    """12-hour clock time: (7, 0) -> "seven o'clock", (9, 5) -> "nine oh five"."""
    if not (1 <= hour <= 12 and 0 <= minute < 60):
        raise ValueError(f"clock() takes hour 1..12 and minute 0..59, got {hour}:{minute}")
    if minute == 0:
        return f"{cardinal(hour)} o'clock"
    return f"{cardinal(hour)} {'oh ' + cardinal(minute) if minute < 10 else cardinal(minute)}"


def money(dollars: int, cents: int) -> str:
    """(3, 20) -> "three dollars and twenty cents"; (1, 0) -> "one dollar"."""
    parts = []
    if dollars:
        parts.append(f"{cardinal(dollars)} dollar{'s' if dollars != 1 else ''}")
    if cents or not dollars:
        parts.append(f"{cardinal(cents)} cent{'s' if cents != 1 else ''}")
    return " and ".join(parts)


def digits(number: str) -> str:
    """A digit string read one digit at a time, as phone numbers are: "507" -> "five oh seven"."""
    return " ".join("oh" if d == "0" else _ONES[int(d)] for d in number)
