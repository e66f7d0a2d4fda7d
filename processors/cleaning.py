"""Text cleaning before NER, and the normalisation of entity names.

Boilerplate (``READ MORE: ...``, ``Most read in Politics``, share and subscribe prompts, photo credits) is not
deleted but blanked out with spaces, so every character offset the NER reports is still an offset in
``Article.text``. Names are normalised by :func:`canonical_form` (possessives, quotes, stray punctuation and line
breaks removed) and junk spans (single characters, contractions, numbers) recognised by :func:`is_junk`.
"""

from __future__ import annotations

import logging
import re
import unicodedata

logger = logging.getLogger(__name__)

# One pattern per kind of boilerplate line; a line matching any of them (after trimming) is blanked out.
_BOILERPLATE_LINES = [
    r"(read|see|watch|listen)\s+(more|also|next|now)(\s*[:|\-\u2013\u2014>].*|\s+(here|at|on\s+our)\b.*)?",
    r"(watch|listen|video|live)\s*:.*",
    r"more\s+(on|from|about)\s*:.*",
    r"most\s+(read|popular|viewed|shared)\b.*",
    r"(related|recommended|trending|latest)(\s+(stories|articles|news|coverage|reading))?\s*:.*",
    r"(share|tweet|email|print)(\s+(this|the))?(\s+(article|story|page|post))?\s*(on\s+\w+)?\s*[:!.]?",
    r"share\s+(on|via)\s+\w+.*",
    r"click\s+(here|to)\b.*",
    r"(sign\s+up|subscribe|register)\b.*\b(newsletter|updates|alerts|free|today|now|here)\b.*",
    r"(subscribe|sign\s+up)\s*(now|today|here)?[!.:]?",
    r"(get|receive)\s+(our|the)\s+.*\b(newsletter|alerts|briefing)\b.*",
    r"follow\s+(us|[a-z ]{1,30})\s+on\s+(twitter|x|facebook|instagram|telegram|tiktok|linkedin|youtube)\b.*",
    r"(photo|image|picture|pictured|video|credit|photograph|illustration)s?\s*(credit)?\s*[:|©].*",
    r"(photo|image|picture)s?\s*(by|courtesy\s+of)\s+.*",
    r"©.*",
    r"\(?(c)\)?\s*copyright\b.*",
    r"copyright\s*(©|\(c\))?\s*\d{4}.*",
    r"advertisement|sponsored(\s+content)?|ad\s+feature",
    r"(this\s+)?(article|story)\s+(was\s+)?(originally\s+)?(published|appeared)\b.*",
    r"(we\s+)?(use|using)\s+cookies\b.*",
    r"(comments?|join\s+the\s+(conversation|discussion))(\s*\(\d+\))?",
    r"(getty\s+images|reuters|ap\s+photo|afp|epa|shutterstock)(\s*/\s*[\w .]+)?",
]
_BOILERPLATE = re.compile(r"^\W{0,3}(?:" + "|".join(_BOILERPLATE_LINES) + r")\W{0,3}$", re.IGNORECASE)
# Photo credits inside a paragraph: "(Photo: Reuters)", "[Image: Getty Images]", "(AFP via Getty Images)".
_INLINE_CREDIT = re.compile(
    r"[(\[](?:(?:photo|image|picture|video|credit)s?\s*(?:credit)?\s*[:/|]\s*[^()\[\]\n]{1,80}"
    r"|[^()\[\]\n]{0,60}\bvia\s+getty\s+images|getty\s+images|reuters|afp|ap(?:\s+photo)?|epa)[)\]]",
    re.IGNORECASE,
)
_LINE = re.compile(r"[^\n]+")
_LONGEST_BOILERPLATE_LINE = 200


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _blank_line(match: re.Match[str]) -> str:
    line = match.group(0)
    if len(line) <= _LONGEST_BOILERPLATE_LINE and _BOILERPLATE.match(line.strip()):
        return " " * len(line)
    return line


def mask_boilerplate(text: str) -> str:
    """``text`` with boilerplate lines and inline photo credits replaced by spaces (same length, same offsets)."""
    return _INLINE_CREDIT.sub(_blank, _LINE.sub(_blank_line, text))


# Straight and typographic quotes, guillemets, backtick, acute accent, primes.
_QUOTES = "\"'\u201c\u201d\u2018\u2019\u201a\u201e\u00ab\u00bb\u2039\u203a`\u00b4\u2032\u2033"
_APOSTROPHES = "'\u2019`\u00b4"
_EDGE_JUNK = _QUOTES + " \t\r\n,;:!?()[]{}<>*\u2022\u00b7|/\\-\u2013\u2014_~#@^=+"
_ABBREVIATION_END = re.compile(r"(?:^|[.\s])\w\.$")  # "U.S.", "Washington D.C." keep their last full stop
_POSSESSIVE = re.compile(rf"(?:[{_APOSTROPHES}]s|(?<=s)[{_APOSTROPHES}])$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_LEADING_ARTICLE = re.compile(r"^the\s+", re.IGNORECASE)
# Quotes inside a name are typographic noise ('"Wagner" Group'); apostrophes between letters are part of it
# (O'Brien), and so is a plural possessive before the next word of the name ("St Thomas' Hospital", "Workers'
# Union"), so only the other quote characters next to a space go.
_INNER_QUOTES = re.compile(
    rf"(?<=\s)[{re.escape(_QUOTES)}]+|(?!(?<=s)[{_APOSTROPHES}]\s[A-Z])[{re.escape(_QUOTES)}]+(?=\s)"
)


def canonical_form(surface: str) -> str:
    """The surface form of a name, cleaned: one line, single spaces, no possessive, quotes or stray punctuation.

    ``"Prigozhin's"`` -> ``"Prigozhin"``; ``"the\\nKremlin"`` -> ``"Kremlin"``; ``'"Wagner"'`` -> ``"Wagner"``.
    Idempotent: cleaning a cleaned name changes nothing.
    """
    name = unicodedata.normalize("NFC", surface)
    previous = None
    while name != previous:
        previous = name
        name = _SPACES.sub(" ", name).strip(_EDGE_JUNK).lstrip(".")
        if name.endswith(".") and not _ABBREVIATION_END.search(name):
            name = name[:-1]
        name = _POSSESSIVE.sub("", name)
        name = _LEADING_ARTICLE.sub("", name)
        name = _INNER_QUOTES.sub("", name)
    return name


_CONTRACTIONS = frozenset(
    apostrophe.join(parts)
    for apostrophe in _APOSTROPHES
    for parts in (("n", "t"), ("", "s"), ("", "re"), ("", "ve"), ("", "ll"), ("", "d"), ("", "m"))
)
_NUMBER_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "hundred",
        "thousand",
        "million",
        "billion",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "dozen",
        "dozens",
        "hundreds",
        "thousands",
        "millions",
    ]
)


def is_junk(name: str) -> bool:
    """True for spans that are no name at all: single characters, contractions, numbers, all-lowercase words."""
    if len(name) < 2 or name.lower() in _CONTRACTIONS:
        return True
    letters = [char for char in name if char.isalpha()]
    if not letters or (len(letters) == 1 and not any(char.isdigit() for char in name)):
        return True  # "A", "-", "2023"; but "G7" is a name
    if all(word.lower() in _NUMBER_WORDS or not any(c.isalpha() for c in word) for word in name.split()):
        return True
    # A name has at least one capital (or a non-Latin letter without case); "n't", "week", "the" have none.
    return not any(char.isupper() or not (char.islower() or char.isupper()) for char in letters)


# A score ("1-0", "2-1" with any dash, "3:2") or a bare number at the end of a name: "Inter Milan 1-0", "KL Rahul 66".
_TRAILING_SCORE = re.compile(r"(?:[\s,;:(\[]+\d+(?:\s*[-\u2013\u2014:]\s*\d+)+[)\]]?)+$")
_LEADING_SCORE = re.compile(r"^\d+(?:\s*[-\u2013\u2014:]\s*\d+)+\s+(?=\D)")
_TRAILING_NUMBER = re.compile(r"(?:[\s,;:(\[]+\d+(?:[.,]\d+)?[)\]]?)+$")
_TRAILING_PUNCTUATION = re.compile(rf"[\s{re.escape(_EDGE_JUNK)}.]+$")


def strip_trailing_numbers(name: str, *, bare_numbers: bool = True) -> str:
    """``name`` without the scores, numbers and punctuation glued to it by the NER.

    Scores always go, at either end ("Inter Milan 1-0" -> "Inter Milan", "3-1 Fulham" -> "Fulham"); a bare
    trailing number ("KL Rahul 66", "Dave Pritchard, 58") only with ``bare_numbers``, since some organisations and
    events end in one (Channel 4, Euro 2024). Never empties a name: a name that is nothing but numbers is left to
    :func:`is_junk`. Idempotent.
    """
    stripped = _LEADING_SCORE.sub("", name)
    previous = None
    while stripped != previous:
        previous = stripped
        stripped = _TRAILING_SCORE.sub("", stripped)
        if bare_numbers:
            stripped = _TRAILING_NUMBER.sub("", stripped)
        # "U.S." and "Washington D.C." keep their last full stop, as in canonical_form.
        if not _ABBREVIATION_END.search(stripped):
            stripped = _TRAILING_PUNCTUATION.sub("", stripped)
    return stripped if any(char.isalpha() for char in stripped) else name


# The endings of nationality and group words, singular or plural: Russian, Polish, Chinese, Baltic, Israeli, Dutch,
# Swiss, Peronist, Greek, Thai, Kurd, Arab, Sikh.
_GROUP_ENDING = re.compile(r"(?:an|ish|ese|ic|i|ch|ss|ist|ek|ai|urd|ab|kh|ew)s?$")


def reads_as_group(name: str) -> bool:
    """Whether a name ends like a nationality or a group ("Russians", "Peronist"), unlike a firm ("Tesla")."""
    return _GROUP_ENDING.search(name) is not None


# Endings after which a final "s" is part of the singular ("Swiss", "Belarus", "Texas", "Barbados"); "-is" too, as
# in "Paris" or "Harris", unless the article attests the singular ("Israeli" beside "Israelis").
_SINGULAR_S = ("ss", "us", "as", "os", "is")


def singular_norp(name: str, attested: frozenset[str] = frozenset()) -> str:
    """The singular of a plural nationality or group name: "Russians" -> "Russian", "Tories" -> "Tory".

    Only the last word changes ("Torres Strait Islanders" -> "Torres Strait Islander"). Words whose final "s"
    belongs to the singular (Swiss, Belarus) are kept; an ending in "-is" is made singular only when the singular is
    in ``attested`` (casefolded names seen in the same article), so "Paris" stays "Paris". Idempotent on the
    result: a singular is returned as it is.
    """
    head, _, last = name.rpartition(" ")
    if len(last) < 4 or last[-1] != "s" or not last[0].isupper() or not last[-2].islower():
        return name
    if last.endswith("ies"):
        singular = last[:-3] + "y"
    elif last.endswith(_SINGULAR_S):
        singular = last[:-1] if last.endswith("is") and (f"{head} {last[:-1]}".strip()).casefold() in attested else ""
    else:
        singular = last[:-1]
    if not singular:
        return name
    return f"{head} {singular}" if head else singular


# Words that head a name of one kind, in spaCy's (OntoNotes) labels: "Kerch Strait" is a LOC, "Crimean Bridge" a
# FAC, "Eras Tour" an EVENT, whatever the NER said. The head is the last word, or the word before "of" ("Sea of
# Azov", "Security Service of Ukraine"). Words that are also common surnames or club names (Hall, Bay, Palace,
# Court, Union, League, State) are left out: there the NER's vote decides.
_HEADS = {
    "FAC": "street road avenue boulevard lane bridge stadium arena airport dam tower station motorway highway "
    "cathedral mosque tunnel pipeline plant prison square building canal gate park lighthouse",
    "LOC": "sea ocean river strait straits gulf lake mountains peninsula desert valley gap basin plateau delta glacier "
    "canyon",
    "GPE": "republic kingdom territory province oblast county emirates",
    "ORG": "party ministry council committee commission agency authority university bank group company corporation "
    "corp inc ltd plc llc club association institute foundation organisation organization police army navy "
    "parliament assembly senate cooperation alliance brigade battalion regiment corps fund board office department "
    "bureau service survey newspapers holdings industries airlines airways motors foods pharmaceuticals technologies "
    "laboratories enterprises ventures",
    "EVENT": "war tour festival cup championship championships olympics games conference summit revolution uprising "
    "marathon trophy expo",
}
_HEAD_LABELS = {head: label for label, heads in _HEADS.items() for head in heads.split()}


def head_words(label: str) -> frozenset[str]:
    """The words that give the names they end the label ``label`` (see :func:`head_label`), in lower case."""
    return frozenset(_HEADS.get(label, "").split())


def head_label(word: str) -> str | None:
    """The label a word gives the name it ends ("strait" -> LOC, "bridge" -> FAC), or None."""
    return _HEAD_LABELS.get(word.casefold())


_LEADING_HEAD_LABELS = {
    "mount": "LOC",
    "lake": "LOC",
    "wadi": "LOC",
    "river": "LOC",
    "battle": "EVENT",
    "siege": "EVENT",
    "piazza": "FAC",
    "plaza": "FAC",
}
# Royals and popes keep their title, and a title with one given name (and a regnal number) is a person.
_ROYAL = re.compile(
    r"^(?:King|Queen|Prince|Princess|Pope|Emperor|Empress|Sultan|Emir)\s+[A-Z][\w'\u2019-]+(?:\s+[IVX]+)?$"
)


def label_by_shape(name: str) -> str | None:
    """The label a multi-word name's form gives it ("Kerch Strait" -> LOC, "King Felipe VI" -> PERSON), or None."""
    words = name.split()
    if len(words) < 2:
        return None
    if _ROYAL.match(name):
        return "PERSON"
    lowered = [word.casefold() for word in words]
    head = lowered[lowered.index("of", 1) - 1] if "of" in lowered[1:] else lowered[-1]
    return _HEAD_LABELS.get(head) or _LEADING_HEAD_LABELS.get(lowered[0])


# "the Lipetsk region" is Lipetsk: an administrative region under its bare name.
_REGION_WORD = re.compile(r"\s+(?:region|oblast|province)$")


def strip_region_word(name: str) -> str:
    """``name`` without a trailing lower-case "region" / "oblast" / "province" ("Lipetsk region" -> "Lipetsk")."""
    stripped = _REGION_WORD.sub("", name)
    return stripped or name
