"""Characters a language cannot speak are removed with a warning, never read as their names;
punctuation a vocabulary lacks goes onto the marks it has (issue 21, item 6)."""
import pytest

from vall_e.errors import TextError
from vall_e.text import PhonemeTokenizer, phonemize
from vall_e.text.script import speakable
from tests.conftest import REPO

DEFAULT_VOCAB = REPO / "vall_e" / "assets" / "default" / "vocab.json"


@pytest.mark.parametrize("text, language, kept, removed", [
    ("Hello 你好", "en-us", "Hello", "你好"),
    ("Hi 😀!", "en-us", "Hi!", "😀"),
    ("你好世界", "cmn", "你好世界", ""),
    ("Привет, Bob", "ru", "Привет, Bob", ""),  # Latin letters are read in every voice
    ("Привет, Bob", "en-us", "Bob", "Привет"),
    ("été 20°C", "fr-fr", "été 20°C", ""),
    ("hello", "xx-unknown", "hello", ""),  # a language outside the table: no guess
])
def test_speakable_keeps_what_the_language_reads(text, language, kept, removed):
    assert speakable(text, language) == (kept, removed)


@pytest.mark.parametrize("text", ["😀😀", "你好世界", "...!?", " \t\u200b "])
def test_nothing_to_speak_is_one_text_error(text):
    with pytest.raises(TextError) as info:
        speakable(text, "en-us")
    assert "\n" not in str(info.value)


def test_chinese_under_english_is_no_longer_read_as_letter_names():
    # before: espeak read each character as "Chinese letter" (tʃ aɪ n iː z l ɛ ɾ ɚ)
    assert "tʃ" in phonemize("你好", "en-us")
    assert speakable("Hello 你好", "en-us")[0] == "Hello"


def test_default_vocab_takes_every_mark_without_unk(recwarn):
    tokenizer = PhonemeTokenizer.load(DEFAULT_VOCAB)
    assert ";" not in tokenizer.vocab and "(" not in tokenizer.vocab  # what the default lacks
    tokens = phonemize('a: b; "c" (d) - e [f] {g} ¡h! ¿i?', "en-us")
    ids = tokenizer.encode(tokens)
    assert PhonemeTokenizer.UNK_ID not in ids
    assert not [w for w in recwarn if "vocabulary" in str(w.message)]
    text = "".join(tokenizer.decode(ids))
    assert ":" not in text and ";" not in text and '"' not in text and "(" not in text
    assert ",," not in text and ", ," not in text and "  " not in text


@pytest.mark.parametrize("text, expected", [
    ("(Hello) world", "həlˈoʊ, wˈɜːld"),
    ("one; two: three", "wˌʌn, tˈuː, θɹˈiː"),
    ("a, (b) c.", "ˈeɪ, bˈiː, sˈiː."),
    ('"Quoted."', "kwˈoʊɾᵻd."),
])
def test_marks_map_onto_pauses(text, expected):
    tokenizer = PhonemeTokenizer.load(DEFAULT_VOCAB)
    assert "".join(tokenizer.decode(tokenizer.encode(phonemize(text, "en-us")))) == expected


def test_known_marks_are_left_alone():
    tokenizer = PhonemeTokenizer(["a", ";", ",", " "])
    assert tokenizer.fit_marks(["a", ";", " ", "a"]) == ["a", ";", " ", "a"]
    assert tokenizer.encode(["a", ";", " ", "a"], add_bos_eos=False) == [4, 5, 7, 4]
