"""Hand-written word lists for the sentence grammar.

Chosen for sound as much as sense: the lists deliberately carry the rarer English phones
(measure/vision for ʒ, voice/coin for ɔɪ, wool/sugar for ʊ, thirty/month for θ, tour for ʊɹ,
fire/hour for aɪɚ/aʊɚ, button/little for syllabic consonants) so that the candidate pool holds
every phone espeak-ng's en-us voice produces and the coverage selection has something to pick.
Verbs are (base, third person, past, -ing) so no inflection rule can misspell one.
"""
from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _verbs(text: str) -> tuple[tuple[str, str, str, str], ...]:
    """'base/third/past/ing' groups separated by whitespace."""
    return tuple(tuple(group.split("/")) for group in text.split())  # type: ignore[misc]


FIRST_NAMES = _words("""
    Alice Arthur Beatrice Benjamin Charlotte Daniel Dorothy Edward Eleanor Felix Fiona George
    Grace Harold Hazel Isaac Ivy Jasmine Joseph Judith Kevin Laura Leonard Lucy Marcus Margaret
    Nathan Nora Oliver Olivia Patrick Penelope Quentin Rachel Roger Ruth Samuel Sophie Theodore
    Thelma Victor Violet Walter Wendy Xavier Yvonne Zachary Zoe Joyce Lloyd Jerome Gemma Hugo
    Imogen Boris Chloe Dmitri Esther Gareth Heather Julian Keith Martha Owen Priya Rosa Stuart
    Timothy Ursula Vivian Winston Yusuf Agatha Ezra Howard Ingrid Moira Neville Cheryl Raj
""")

SURNAMES = _words("""
    Thompson Fischer Garcia Okafor Nakamura Lindqvist Moreau Patel Kowalski Brennan Ashworth
    Delgado Hoffman Whitaker Ramirez Sullivan Chang Petrov Gallagher Jensen Thornton Booker
    Marsh Rutherford Vaughan Fitzgerald Abernathy Coleman Duchamp Everett Holloway Quigley
""")

PLACES = _words("""
    London Boston Chicago Denver Dublin Glasgow Lisbon Madrid Oslo Phoenix Seattle Sydney Toronto
    Vancouver Vienna Zurich Houston Atlanta Cairo Geneva Helsinki Kyoto Memphis Nashville Prague
    Quebec Richmond Savannah Tucson Utah Vermont Warsaw Asia Norway Brazil Portugal Ireland
""")

# Nouns that take "the"; a few are plural-only or mass nouns and read fine either way.
NOUNS = _words("""
    apple anchor arrow bakery balloon basket beach bicycle blanket boat bottle bridge bucket
    button cabin camera candle canyon castle chair cherry chimney circus clock cloud coin collar
    compass cottage couch curtain cushion desk diamond doctor drawer engine envelope factory
    feather fence fire flower forest fountain garage garden gate guitar hammer harbor helmet
    hillside hour island jacket jungle kettle kitchen ladder lantern laundry leather letter
    library lighthouse machine magazine marble meadow measure mirror monkey mountain museum
    needle notebook ocean office orchard oyster package paint palace pencil piano pillow pocket
    postcard pottery puzzle quarry rabbit radio ribbon river rocket saddle sandwich scissors
    shovel shoulder silver sofa spider squirrel staircase station statue stove suitcase sweater
    table teapot telephone television tent thermometer thread ticket tiger toy tower tractor
    treasure trumpet tunnel turtle umbrella valley vase village violin wagon wallet window wool
    yacht zebra zipper voice noise vision garment engineer orange author theater bathroom
    mushroom mouth tooth wolf hook cookie sugar journey oven oil pleasure closure beige
""")

ADJECTIVES = _words("""
    ancient anxious awkward beautiful bitter bright broken bumpy careful cheerful chilly clever
    cloudy clumsy cozy crooked curious damp delicate dusty eager elegant empty enormous fancy
    fragile friendly frozen gentle gloomy golden gorgeous graceful greasy grumpy handsome heavy
    hollow honest humble huge icy jealous jolly joyful juicy lazy little lively lonely loyal
    lucky massive mellow messy mighty modern muddy mysterious narrow nervous noisy odd orange
    ordinary patient peaceful plastic pleasant polite precious proud purple quiet rapid rough
    round rusty shallow shiny silent silky sleepy slippery smooth soft sour spicy sticky stormy
    strange sturdy sudden sweet tame thick thin thoughtful tiny tough unusual usual vivid warm
    wealthy weary wooden worried yellow young zealous casual visual royal moist poised thorough
""")

# Transitive verbs: "<name> <verb> the <noun>".
VERBS = _verbs("""
    borrow/borrows/borrowed/borrowing build/builds/built/building carry/carries/carried/carrying
    catch/catches/caught/catching choose/chooses/chose/choosing clean/cleans/cleaned/cleaning
    cover/covers/covered/covering draw/draws/drew/drawing enjoy/enjoys/enjoyed/enjoying
    examine/examines/examined/examining find/finds/found/finding fix/fixes/fixed/fixing
    follow/follows/followed/following grab/grabs/grabbed/grabbing hide/hides/hid/hiding
    hold/holds/held/holding imagine/imagines/imagined/imagining
    inspect/inspects/inspected/inspecting
    keep/keeps/kept/keeping lift/lifts/lifted/lifting measure/measures/measured/measuring
    mention/mentions/mentioned/mentioning move/moves/moved/moving notice/notices/noticed/noticing
    open/opens/opened/opening paint/paints/painted/painting
    photograph/photographs/photographed/photographing
    polish/polishes/polished/polishing pull/pulls/pulled/pulling push/pushes/pushed/pushing
    question/questions/questioned/questioning
    recognize/recognizes/recognized/recognizing repair/repairs/repaired/repairing
    sell/sells/sold/selling share/shares/shared/sharing sketch/sketches/sketched/sketching
    steal/steals/stole/stealing study/studies/studied/studying throw/throws/threw/throwing
    touch/touches/touched/touching treasure/treasures/treasured/treasuring
    visit/visits/visited/visiting wash/washes/washed/washing watch/watches/watched/watching
    wrap/wraps/wrapped/wrapping avoid/avoids/avoided/avoiding destroy/destroys/destroyed/destroying
    judge/judges/judged/judging deliver/delivers/delivered/delivering
""")

# Intransitive verbs: "<name> <verb> <adverbial>".
INTRANSITIVE = _verbs("""
    arrive/arrives/arrived/arriving laugh/laughs/laughed/laughing sleep/sleeps/slept/sleeping
    wait/waits/waited/waiting whisper/whispers/whispered/whispering
    wander/wanders/wandered/wandering
    sing/sings/sang/singing swim/swims/swam/swimming shiver/shivers/shivered/shivering
    hurry/hurries/hurried/hurrying rejoice/rejoices/rejoiced/rejoicing
    listen/listens/listened/listening work/works/worked/working cook/cooks/cooked/cooking
    travel/travels/traveled/traveling smile/smiles/smiled/smiling argue/argues/argued/arguing
""")

ADVERBS = _words("""
    quietly quickly slowly carefully eagerly happily gently loudly patiently nervously suddenly
    proudly barely usually honestly thoroughly cheerfully politely awkwardly anxiously
""")

TIMES = (
    "yesterday", "this morning", "last night", "on Monday", "on Tuesday", "on Wednesday",
    "on Thursday", "on Friday", "on Saturday", "on Sunday", "every evening", "at dawn",
    "after lunch", "before breakfast", "in the afternoon", "at midnight", "last winter",
    "next summer", "during the autumn", "in the spring", "an hour ago", "twice a week",
)

PREPOSITIONS = _words("""
    near beside behind under above inside outside across beyond toward through around
""")

INTERJECTIONS = _words("Oh Well Wow Hey Alas Goodness Look Listen Honestly Hmm")

MONTHS = _words("""
    January February March April May June July August September October November December
""")

WEEKDAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")

# (singular, plural) by what they measure, so "walked eleven degrees" cannot happen.
DISTANCES = (("mile", "miles"), ("meter", "meters"), ("kilometer", "kilometers"),
             ("foot", "feet"), ("yard", "yards"))
DURATIONS = (("minute", "minutes"), ("hour", "hours"), ("week", "weeks"), ("year", "years"),
             ("second", "seconds"), ("month", "months"))
WEIGHTS = (("pound", "pounds"), ("kilogram", "kilograms"), ("ounce", "ounces"),
           ("gram", "grams"))

# Short whole sentences: greetings, replies, idioms. Real speech has many of these.
SHORT_LINES = (
    "Thank you very much.", "Not today.", "See you tomorrow.", "Of course!", "I think so.",
    "Please close the door.", "That sounds wonderful.", "Where are my keys?", "Good morning!",
    "Is that yours?", "Watch your step.", "Leave it to me.", "Are you sure?", "No problem at all.",
    "What a surprise!", "Let's go home.", "It's your turn.", "Just a moment, please.",
    "How was your journey?", "I'm terribly sorry.", "Happy birthday!", "Which one is better?",
    "Keep the change.", "Never mind.", "Why not?", "The pleasure is mine.", "Enjoy the show.",
)

CONJUNCTIONS = ("because", "although", "while", "so", "but", "and then", "even though", "until")
