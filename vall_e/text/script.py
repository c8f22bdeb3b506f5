"""Which characters a language can speak, judged by their Unicode script.

espeak-ng reads a character outside its voice's script by its Unicode name ("Chinese letter",
"grinning face") in the voice's language: audio of a character description, not of the text.
``speakable(text, language)`` removes those characters before phonemization and returns what it
removed, so the caller can say so in one line; ``TextError`` when nothing speakable is left.

Contract:
* digits, whitespace and punctuation are always kept; letters are kept when their script is
  Latin (every espeak voice reads Latin letters) or one the language is written in (table
  ``_SCRIPTS``, by the language code's first part); a language missing from the table keeps
  every letter (no guess);
* symbols from U+2000 on (emoji, dingbats, arrows: Unicode categories So and Sk), private-use
  and unassigned code points are removed in every language;
* the text is normalized (``normalize_text``) first, and the result has its whitespace collapsed.
"""
from __future__ import annotations

import re
import unicodedata

from vall_e.errors import TextError
from vall_e.text.normalize import normalize_text

_CJK = ("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "IDEOGRAPHIC", "HANGUL", "BOPOMOFO")
_LATIN_LANGS = (
    "af an az bs ca cs cy da de en eo es et eu fi fr ga gd gl haw hr ht hu id io is it jbo la lfn "
    "lt lv mi mt ms nb nl no om pap pl pt qu ro sk sl sq sv sw tk tn tr uz vi yo").split()
_SCRIPTS: dict[str, tuple[str, ...]] = {
    **{lang: () for lang in _LATIN_LANGS},
    **{lang: ("CYRILLIC",) for lang in "ru uk be bg mk sr kk ky mn tt ba cv".split()},
    "el": ("GREEK",), "grc": ("GREEK",),
    **{lang: ("CJK", "IDEOGRAPHIC", "BOPOMOFO") for lang in ("cmn", "yue", "zh", "hak")},
    "ja": ("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "IDEOGRAPHIC"),
    "ko": ("HANGUL", "CJK"),
    **{lang: ("ARABIC",) for lang in ("ar", "fa", "ur", "ps", "sd", "ug")},
    "he": ("HEBREW",),
    **{lang: ("DEVANAGARI",) for lang in ("hi", "mr", "ne", "sa", "kok")},
    **{lang: ("BENGALI",) for lang in ("bn", "as", "bpy")},
    "ta": ("TAMIL",), "te": ("TELUGU",), "kn": ("KANNADA",), "ml": ("MALAYALAM",),
    "gu": ("GUJARATI",), "pa": ("GURMUKHI",), "or": ("ORIYA",), "si": ("SINHALA",),
    "th": ("THAI",), "ka": ("GEORGIAN",), "hy": ("ARMENIAN",), "am": ("ETHIOPIC",),
    "my": ("MYANMAR",),
}


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else ""


def _keeps(ch: str, scripts: tuple[str, ...] | None) -> bool:
    category = unicodedata.category(ch)
    if category in ("Co", "Cn") or (category in ("So", "Sk") and ord(ch) >= 0x2000):
        return False  # emoji, arrows, dingbats, private use (Latin-1's ° © stay: espeak reads them)
    if not category.startswith("L") or scripts is None:
        return True
    script = _script(ch)
    return script in ("LATIN", "MODIFIER") or script in scripts


def speakable(text: str, language: str = "en-us") -> tuple[str, str]:
    """``(kept, removed)``: ``text`` without what ``language`` cannot speak, and the removed
    characters (in order, without repeats). ``TextError`` when no letter or digit is left."""
    text = normalize_text(text)
    code = str(language).strip().lower().replace("_", "-").split("-")[0]
    scripts = _SCRIPTS.get(code)
    kept, removed = [], []
    for ch in text:
        if _keeps(ch, scripts):
            kept.append(ch)
        else:
            kept.append(" ")
            if ch not in removed:
                removed.append(ch)
    result = " ".join("".join(kept).split())
    if removed:  # no pause left dangling where the removed words were: "Hi 😀!" -> "Hi!"
        result = re.sub(r" (?=[.,!?;:)\]}])", "", result).lstrip(",;: ")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in result):
        if removed:
            raise TextError(f"nothing to speak: {language} cannot read {_show(removed)} "
                            f"(emoji, symbols, or another script); pass --language of that "
                            "script, or write the words out")
        raise TextError("nothing to speak: the text has no letters or digits, only "
                        "punctuation; write the words out")
    return result, "".join(removed)


def _show(chars: list[str] | str, limit: int = 12) -> str:
    chars = list(chars)
    shown = "".join(chars[:limit])
    return repr(shown + ("..." if len(chars) > limit else ""))


def describe_removed(removed: str, language: str) -> str:
    """The one-line warning for characters ``speakable`` removed."""
    return (f"skipped {len(removed)} character(s) that {language} cannot speak "
            f"(emoji, symbols or another script): {_show(removed)}")
