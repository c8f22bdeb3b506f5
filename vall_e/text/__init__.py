"""Text front end: normalization, sentence splitting, espeak-ng phonemization, phone vocabulary.

Typical use::

    from vall_e.text import PhonemeTokenizer, normalize_text, phonemize, split_sentences

    for sentence in split_sentences(normalize_text(raw)):
        ids = tokenizer.encode(phonemize(sentence, "en-us"))

Importing this package does no work: espeak-ng is loaded on the first ``phonemize`` call.
"""

from vall_e.text.normalize import normalize_text, split_sentences
from vall_e.text.phonemize import phonemes_to_string, phonemize, supported_languages
from vall_e.text.tokenizer import PhonemeTokenizer

__all__ = [
    "PhonemeTokenizer",
    "normalize_text",
    "phonemes_to_string",
    "phonemize",
    "split_sentences",
    "supported_languages",
]
