"""Project-written English sentences from a small seeded grammar.

``generate_sentences(n, seed)`` returns ``n`` distinct sentences: statements, yes/no and wh-
questions, imperatives, exclamations, lists, dates, clock times, prices, phone numbers and
measurements (every number spelled out, see ``numbers``), names and places, and short replies
as well as long sentences of two or three clauses. The same ``(n, seed, max_words)`` always
gives the same list: all randomness comes from one ``random.Random(seed)``, and templates are
picked from a fixed tuple, never from a dict or set whose order could change.
"""
from __future__ import annotations

import random

from vall_e.data.corpus import lexicon as lx
from vall_e.text import numbers as num

_VOWEL_SOUND_EXCEPTIONS = {"hour": "an", "honest": "an", "usual": "a", "unusual": "an",
                           "university": "a", "umbrella": "an"}


def _article(word: str) -> str:
    if word in _VOWEL_SOUND_EXCEPTIONS:
        return _VOWEL_SOUND_EXCEPTIONS[word]
    return "an" if word[0].lower() in "aeiou" else "a"


def _capitalize(text: str) -> str:
    return text[0].upper() + text[1:]


class _Grammar:
    """One template per method; each returns a clause or sentence without a leading capital."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, options):
        return options[self.rng.randrange(len(options))]

    def maybe(self, text: str, p: float = 0.5) -> str:
        return f" {text}" if self.rng.random() < p else ""

    # -- noun phrases -------------------------------------------------------------------
    def name(self) -> str:
        if self.rng.random() < 0.25:
            return f"{self.pick(lx.FIRST_NAMES)} {self.pick(lx.SURNAMES)}"
        return self.pick(lx.FIRST_NAMES)

    def np(self) -> str:
        """'the old lantern', 'a curious rabbit', 'Olivia's wooden spoon'."""
        noun = self.pick(lx.NOUNS)
        adj = self.pick(lx.ADJECTIVES) if self.rng.random() < 0.6 else ""
        head = f"{adj} {noun}" if adj else noun
        roll = self.rng.random()
        if roll < 0.55:
            return f"the {head}"
        if roll < 0.85:
            return f"{_article(head)} {head}"
        return f"{self.pick(lx.FIRST_NAMES)}'s {head}"

    def place_phrase(self) -> str:
        if self.rng.random() < 0.5:
            return f"{self.pick(lx.PREPOSITIONS)} {self.np()}"
        return f"in {self.pick(lx.PLACES)}"

    # -- clauses ------------------------------------------------------------------------
    def clause_past(self) -> str:
        verb = self.pick(lx.VERBS)
        return (f"{self.name()} {verb[2]} {self.np()}"
                + self.maybe(self.place_phrase(), 0.5) + self.maybe(self.pick(lx.TIMES), 0.4))

    def clause_present(self) -> str:
        verb = self.pick(lx.INTRANSITIVE)
        return (f"{self.name()} {verb[1]}" + self.maybe(self.pick(lx.ADVERBS), 0.6)
                + self.maybe(self.place_phrase(), 0.6))

    def clause_state(self) -> str:
        subject = self.np()
        verb = "was" if self.rng.random() < 0.5 else "is"
        return f"{subject} {verb} {self.pick(lx.ADJECTIVES)}"

    def clause(self) -> str:
        return self.pick((self.clause_past, self.clause_present, self.clause_state))()

    # -- whole sentences ----------------------------------------------------------------
    def statement(self) -> str:
        return f"{self.clause()}."

    def compound(self) -> str:
        text = f"{self.clause()} {self.pick(lx.CONJUNCTIONS)} {self.clause()}"
        if self.rng.random() < 0.35:
            text += f", {self.pick(('and', 'but', 'so'))} {self.clause()}"
        return f"{text}."

    def yes_no_question(self) -> str:
        verb = self.pick(lx.VERBS)
        aux = self.pick(("Did", "Will", "Can", "Should", "Would", "Could"))
        subject = self.pick(("you", "we", "they", self.name()))
        return f"{aux} {subject} {verb[0]} {self.np()}" + self.maybe(self.pick(lx.TIMES), 0.4) + "?"

    def wh_question(self) -> str:
        verb = self.pick(lx.VERBS)
        return self.pick((
            f"where did {self.name()} {verb[0]} {self.np()}?",
            f"why is {self.np()} so {self.pick(lx.ADJECTIVES)}?",
            f"who {verb[2]} {self.np()}" + self.maybe(self.pick(lx.TIMES), 0.5) + "?",
            f"what happened to {self.np()} {self.place_phrase()}?",
            f"how long does it take to {verb[0]} {self.np()}?",
            f"which of you {verb[2]} {self.np()}?",
            f"when will {self.name()} {self.pick(lx.INTRANSITIVE)[0]}?",
        ))

    def imperative(self) -> str:
        verb = self.pick(lx.VERBS)
        lead = self.pick(("", "please ", "don't ", "never ", "always "))
        end = "!" if lead in ("don't ", "never ") and self.rng.random() < 0.5 else "."
        return f"{lead}{verb[0]} {self.np()}" + self.maybe(self.pick(lx.TIMES), 0.3) + end

    def exclamation(self) -> str:
        return f"{self.pick(lx.INTERJECTIONS)}, {self.name()}, {self.clause_state()}!"

    def listing(self) -> str:
        verb = self.pick(lx.VERBS)
        return f"{self.name()} {verb[2]} {self.np()}, {self.np()}, and {self.np()}."

    def date(self) -> str:
        day = num.ordinal(self.rng.randint(1, 28))
        month = self.pick(lx.MONTHS)
        return self.pick((
            (f"{self.name()} was born on the {day} of {month}, "
             f"{num.year(self.rng.randint(1901, 2024))}."),
            f"the meeting moved to {self.pick(lx.WEEKDAYS)}, {month} {day}.",
            (f"{self.pick(lx.FIRST_NAMES)} {self.pick(lx.SURNAMES)} left {self.pick(lx.PLACES)} "
             f"in {num.year(self.rng.randint(1850, 2024))}."),
        ))

    def clock_time(self) -> str:
        time = num.clock(self.rng.randint(1, 12), self.pick((0, 5, 10, 15, 20, 30, 45, 50, 7, 38)))
        return self.pick((
            (f"the train to {self.pick(lx.PLACES)} leaves at {time} from platform "
             f"{num.cardinal(self.rng.randint(1, 19))}."),
            f"is the {self.pick(lx.NOUNS)} still open at {time}?",
            (f"{self.name()} woke up at {time} "
             f"{self.pick(('sharp', 'again', 'today', 'as usual'))}."),
        ))

    def price(self) -> str:
        cost = num.money(self.rng.choice((0, 1, 2, 3, 5, 9, 12, 40, 75, 199, 1250)),
                         self.rng.choice((0, 0, 5, 25, 50, 99)))
        return self.pick((
            f"{self.np()} cost {cost}.",
            f"does {self.np()} really cost {cost}?",
            f"{self.name()} paid {cost} for {self.np()}.",
        ))

    def _amount(self, units) -> str:
        value = self.rng.choice((1, 2, 3, 4, 6, 8, 11, 13, 17, 24, 30, 62, 100, 350, 4000))
        unit = self.pick(units)
        return f"{num.cardinal(value)} {unit[0] if value == 1 else unit[1]}"

    def measurement(self) -> str:
        return self.pick((
            f"the {self.pick(lx.NOUNS)} is {self._amount(lx.DISTANCES)} away.",
            f"{self.name()} walked {self._amount(lx.DISTANCES)} {self.place_phrase()}.",
            f"it took {self._amount(lx.DURATIONS)} to {self.pick(lx.VERBS)[0]} {self.np()}.",
            f"{self.np()} weighs {self._amount(lx.WEIGHTS)}.",
            (f"the score was {num.cardinal(self.rng.randint(0, 9))} to "
             f"{num.cardinal(self.rng.randint(0, 9))} after {self._amount(lx.DURATIONS)}."),
            f"{self.name()} turned {num.cardinal(self.rng.randint(2, 99))} {self.pick(lx.TIMES)}.",
        ))

    def phone_number(self) -> str:
        number = "".join(str(self.rng.randint(0, 9)) for _ in range(7))
        return (f"you can call {self.pick(lx.FIRST_NAMES)} {self.pick(lx.SURNAMES)} at "
                f"{num.digits(number[:3])}, {num.digits(number[3:])}.")

    def short(self) -> str:
        return self.pick(lx.SHORT_LINES)


# Relative weights: declaratives dominate, as in read speech, but every kind is frequent enough
# to appear many times in a corpus of a thousand sentences.
_TEMPLATES = (
    ("statement", 14), ("compound", 20), ("yes_no_question", 9), ("wh_question", 9),
    ("imperative", 7), ("exclamation", 5), ("listing", 5), ("date", 6), ("clock_time", 5),
    ("price", 5), ("measurement", 6), ("phone_number", 3), ("short", 4),
)


def generate_sentences(n: int, seed: int = 0, max_words: int = 32) -> list[str]:
    """Return ``n`` distinct sentences with at most ``max_words`` words, deterministically."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    grammar = _Grammar(rng)
    names = [name for name, _ in _TEMPLATES]
    weights = [weight for _, weight in _TEMPLATES]
    seen: set[str] = set()
    out: list[str] = []
    attempts = 0
    # The grammar can produce far more than a million distinct sentences; the attempt cap only
    # guards against an impossible request (e.g. max_words too small to fit any template).
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"could only generate {len(out)} distinct sentences of at most "
                             f"{max_words} words; raise max_words or ask for fewer")
        template = rng.choices(names, weights)[0]
        text = _capitalize(getattr(grammar, template)())
        key = text.lower()
        if len(text.split()) > max_words or key in seen:
            continue
        seen.add(key)
        out.append(text)
    return out
