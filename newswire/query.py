"""The search query language, parsed once into a tree that each search store translates.

    wagner mutiny                 both words (AND is implied between terms)
    wagner OR prigozhin           either
    "private military company"    a phrase
    wagner -sport / wagner NOT sport   without
    (putin OR kremlin) rostov     grouping
    mobil*                        a word prefix (at least 2 characters before the *)

Words are compared case-insensitively after the same tokenisation as the stores use (:func:`tokenize`): a word that
tokenises into several tokens, such as ``Rostov-on-Don``, is a phrase. Operators are upper case; lower-case ``or``
is an ordinary word. A query must match something positively: ``-sport`` alone is invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newswire.errors import InvalidQuery

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 64
_TOKEN = re.compile(r"\w+", re.UNICODE)
_LEXEME = re.compile(r'\s*(?:(?P<lparen>\()|(?P<rparen>\))|"(?P<phrase>[^"]*)"?|(?P<word>[^\s()"]+))')


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, as the search stores index them (letters, digits and underscore runs)."""
    return [token.lower() for token in _TOKEN.findall(text)]


@dataclass(frozen=True, slots=True)
class Term:
    """One token; ``prefix`` matches every token that starts with it."""

    text: str
    prefix: bool = False


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
            self.index += 1
            if self._peek() is None or self._peek().kind in (")", "OR", "AND"):  # type: ignore[union-attr]
                raise self._fail("OR needs something on its right", self._peek())
            parts.append(self._and())
        present = [part for part in parts if part is not None]
        if len(parts) > 1 and len(present) != len(parts):
            raise self._fail("OR needs something on both sides", self._peek())
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
            node = self._or()
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
            return Term(tokens[0])
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
