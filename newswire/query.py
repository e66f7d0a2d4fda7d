"""The search query language, parsed once into a tree that each search store translates.

    wagner mutiny                 both words (AND is implied between terms)
    wagner OR prigozhin           either
    "private military company"    a phrase
    wagner -sport / wagner NOT sport   without
    (putin OR kremlin) rostov     grouping
    mobil*                        a word prefix (at least 2 characters before the *)

Words are compared case-insensitively after the same tokenisation as the stores use (:func:`tokenize`), and by
their Snowball English stem (:func:`stem`): ``mutineers`` finds ``mutineer``, ``marching`` finds ``marched``. A
quoted phrase, also of one word (``"mutineers"``), matches the exact words; so does a word that tokenises into
several tokens, such as ``Rostov-on-Don`` (a phrase), and a prefix matches the start of the exact words. Operators
are upper case; lower-case ``or`` is an ordinary word. A query must match something positively: ``-sport`` alone is
invalid; a quote must be closed, and parentheses nest at most :data:`MAX_DEPTH` deep.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import Stemmer

from newswire.errors import InvalidQuery

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 64
MAX_DEPTH = 32
STEMMER = "english"  # Snowball English, the same in both stores (they are given the stems, not the algorithm)
_TOKEN = re.compile(r"\w+", re.UNICODE)
_LEXEME = re.compile(r'\s*(?:(?P<lparen>\()|(?P<rparen>\))|"(?P<phrase>[^"]*)(?P<closed>"?)|(?P<word>[^\s()"]+))')
_CAPITAL_SIGMA = "\u03a3"
# A bytes.translate table for ASCII text: a word character to its lower case, any other character to a space.
_ASCII_WORDS = bytes(
    (ord(chr(code).lower()) if _TOKEN.fullmatch(chr(code)) else 0x20) if code < 128 else code for code in range(256)
)
# The stems of the tokens seen last, shared by the threads (a token's stem depends on nothing else): the stemmer's
# own cache is asked once a token, this one is read in one pass over a field's tokens. Bounded in count and, so
# that hostile text cannot fill it, in the length of a token kept.
_STEMS: dict[str, str] = {}
_STEMS_KEPT = 1 << 16
_STEMS_LONGEST = 64
_stemmers = threading.local()  # a PyStemmer stemmer keeps state between calls: one per thread


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, as the search stores index them (letters, digits and underscore runs).

    A word whose lower case is not all word characters (``İ`` becomes ``i`` and a combining dot) gives the word
    runs of its lower case, so that tokenising tokens again changes nothing.
    """
    # Two shortcuts give the same tokens as word by word (the last line), faster; tests/unit/test_document_speedups.py
    # compares them with it. In ASCII the word characters are letters, digits and "_": the others become spaces.
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    # ``str.lower`` maps each character on its own but for the capital sigma (whose final form depends on the
    # letters around it, past the word's end) and no character outside a word lowers to a word character (the test
    # checks every code point), so the words of the lower-cased text are the words' lower cases.
    if _CAPITAL_SIGMA not in text:
        return _TOKEN.findall(text.lower())
    return [part for word in _TOKEN.findall(text) for part in word_tokens(word)]


def word_tokens(word: str) -> list[str]:
    """The tokens of one run of word characters (one, except for the rare word of the docstring above)."""
    lowered = word.lower()
    return [lowered] if _TOKEN.fullmatch(lowered) else _TOKEN.findall(lowered)


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_stemmers, "stemmer", None)
    if stemmer is None:
        stemmer = _stemmers.stemmer = Stemmer.Stemmer(STEMMER)
    return stemmer


def stem(token: str) -> str:
    """The Snowball English stem of one token of :func:`tokenize` (itself one such token, never empty)."""
    stemmed: str = _stemmer().stemWord(token)
    return stemmed or token


def stems(tokens: Iterable[str]) -> list[str]:
    """The stems of ``tokens``, in order: what the stores index for words (the tokens themselves for phrases)."""
    listed = tokens if isinstance(tokens, list) else list(tokens)
    try:
        return list(map(_STEMS.__getitem__, listed))
    except KeyError:  # a token not seen lately: stem them all, and keep them
        pass
    stemmed = [word or token for token, word in zip(listed, _stemmer().stemWords(listed), strict=True)]
    if len(_STEMS) > _STEMS_KEPT:
        _STEMS.clear()
    _STEMS.update(pair for pair in zip(listed, stemmed, strict=True) if len(pair[0]) <= _STEMS_LONGEST)
    return stemmed


@dataclass(frozen=True, slots=True)
class Term:
    """One token, matched by its stem; ``prefix`` matches every token that starts with it, and ``exact`` (a quoted
    word) only the token itself."""

    text: str
    prefix: bool = False
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Tokens next to each other, in order."""

    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class And:
    """Every positive part matches and no negative part does."""

    positive: tuple[Node, ...]
    negative: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Or:
    """At least one part matches."""

    parts: tuple[Node, ...]


Node = Term | Phrase | And | Or


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: str  # "(" ")" "word" "phrase" "AND" "OR" "NOT"
    text: str
    position: int


def _lex(query: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    position = 0
    while position < len(query):
        match = _LEXEME.match(query, position)
        if match is None or match.end() == position:
            break
        start = match.start(match.lastgroup) if match.lastgroup else position
        if match.group("lparen"):
            lexemes.append(_Lexeme("(", "(", start))
        elif match.group("rparen"):
            lexemes.append(_Lexeme(")", ")", start))
        elif match.group("phrase") is not None:
            start = match.start("phrase") - 1  # the opening quote
            if not match.group("closed"):
                raise InvalidQuery(f"the quote at character {start + 1} is not closed in the query {query!r}")
            lexemes.append(_Lexeme("phrase", match.group("phrase"), start))
        elif match.group("word"):
            word = match.group("word")
            if word in ("AND", "OR", "NOT"):
                lexemes.append(_Lexeme(word, word, start))
            elif word.startswith("-") and len(word) > 1:
                lexemes.append(_Lexeme("NOT", "-", start))
                lexemes.append(_Lexeme("word", word[1:], start + 1))
            else:
                lexemes.append(_Lexeme("word", word, start))
        position = match.end()
    return lexemes


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.lexemes = _lex(query)
        self.index = 0
        self.terms = 0
        self.depth = 0

    def _peek(self) -> _Lexeme | None:
        return self.lexemes[self.index] if self.index < len(self.lexemes) else None

    def _fail(self, message: str, lexeme: _Lexeme | None) -> InvalidQuery:
        where = f"at character {lexeme.position + 1}" if lexeme else "at the end"
        return InvalidQuery(f"{message} {where} of the query {self.query!r}")

    def parse(self) -> Node | None:
        if not self.lexemes:
            return None
        node = self._or()
        rest = self._peek()
        if rest is not None:
            raise self._fail("unexpected ')'" if rest.kind == ")" else f"unexpected {rest.text!r}", rest)
        if node is None:
            raise InvalidQuery(f"the query {self.query!r} has no word to search for")
        if isinstance(node, And) and not node.positive:
            raise InvalidQuery(f"the query {self.query!r} only excludes; add a word to search for")
        return node

    def _or(self) -> Node | None:
        parts = [self._and()]
        while (lexeme := self._peek()) is not None and lexeme.kind == "OR":
            if parts[-1] is None:
                raise self._fail("OR needs something on its left", lexeme)
            self.index += 1
            if self._peek() is None or self._peek().kind in (")", "OR", "AND"):  # type: ignore[union-attr]
                raise self._fail("OR needs something on its right", lexeme)
            parts.append(self._and())
            if parts[-1] is None:  # only punctuation on its right
                raise self._fail("OR needs a word on its right", lexeme)
        present = [part for part in parts if part is not None]
        for part in present if len(present) > 1 else ():
            if isinstance(part, And) and not part.positive:
                raise InvalidQuery(f"a part of {self.query!r} joined by OR only excludes; add a word to it")
        if not present:
            return None
        return present[0] if len(present) == 1 else Or(tuple(present))

    def _and(self) -> Node | None:
        positive: list[Node] = []
        negative: list[Node] = []
        while (lexeme := self._peek()) is not None and lexeme.kind not in (")", "OR"):
            if lexeme.kind == "AND":
                self.index += 1
                if not positive and not negative:
                    raise self._fail("AND needs something on its left", lexeme)
                continue
            negate = False
            while (lexeme := self._peek()) is not None and lexeme.kind == "NOT":
                self.index += 1
                negate = not negate
            node = self._primary()
            if node is None:
                continue
            (negative if negate else positive).append(node)
        if not positive and not negative:
            return None
        if len(positive) == 1 and not negative:
            return positive[0]
        return And(tuple(positive), tuple(negative))

    def _primary(self) -> Node | None:
        lexeme = self._peek()
        if lexeme is None:
            raise self._fail("expected a word", None)
        self.index += 1
        if lexeme.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self._fail(f"more than {MAX_DEPTH} nested parentheses", lexeme)
            node = self._or()
            self.depth -= 1
            closing = self._peek()
            if closing is None or closing.kind != ")":
                raise self._fail("missing ')' for the '(' opened", lexeme)
            self.index += 1
            if node is None:
                raise self._fail("empty parentheses", lexeme)
            return node
        if lexeme.kind == "phrase":
            return self._words(lexeme, lexeme.text, phrase=True)
        if lexeme.kind == "word":
            return self._words(lexeme, lexeme.text, phrase=False)
        raise self._fail(f"unexpected {lexeme.text!r}", lexeme)

    def _words(self, lexeme: _Lexeme, text: str, *, phrase: bool) -> Node | None:
        prefix = not phrase and text.endswith("*")
        tokens = tokenize(text)
        if not tokens:
            return None  # punctuation only: nothing to match, like the stores' analyzers
        self.terms += len(tokens)
        if self.terms > MAX_TERMS:
            raise self._fail(f"more than {MAX_TERMS} words", lexeme)
        if prefix:
            if len(tokens) != 1 or len(tokens[0]) < 2:
                raise self._fail("a prefix needs one word of at least 2 characters before '*'", lexeme)
            return Term(tokens[0], prefix=True)
        if len(tokens) == 1:
            return Term(tokens[0], exact=phrase)
        return Phrase(tuple(tokens))


def parse_query(query: str) -> Node | None:
    """The tree of ``query``, or ``None`` for an empty query (match everything).

    Raises :class:`~newswire.errors.InvalidQuery` with the position of the problem.
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidQuery(f"the query is {len(query)} characters long; at most {MAX_QUERY_LENGTH} are allowed")
    return _Parser(query).parse()


def positive_tokens(node: Node | None) -> list[str]:
    """The tokens a hit can match (for highlighting and for naming the matched entities)."""
    if node is None:
        return []
    if isinstance(node, Term):
        return [node.text]
    if isinstance(node, Phrase):
        return list(node.tokens)
    if isinstance(node, And):
        return [token for part in node.positive for token in positive_tokens(part)]
    return [token for part in node.parts for token in positive_tokens(part)]
