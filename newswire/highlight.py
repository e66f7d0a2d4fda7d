"""Highlights: the words a hit matched, in ``<em>``, cut from the stored article; both stores use them.

A highlight is HTML: the article's own text is escaped (``<script>`` comes back as ``&lt;script&gt;``, an ``<em>``
the article wrote as ``&lt;em&gt;``), so the only tags in it are the ``<em>`` and ``</em>`` around matched words, and
a page may insert it as HTML as it is. :func:`highlight_text` gives the plain text with the matches in brackets.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator

from newswire.contract import EnrichedArticle
from newswire.query import And, Node, Phrase, Term, stem, stems, tokenize, word_tokens
from newswire.search import FIELD_WEIGHTS

FIELDS = tuple(FIELD_WEIGHTS)
MAX_HIGHLIGHTS = 3
FRAGMENT_CHARS = 160
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


class Highlighter:
    """Fragments of a hit's title, summary and content with the words it matched in ``<em>``; both stores use it.

    ``Highlighter(parse_query(text))(article)`` gives up to :data:`MAX_HIGHLIGHTS` fragments, title first, as escaped
    HTML. Matched words: the words of the query outside NOT by their stem (``mutineers`` marks ``mutineer``), its
    quoted words and prefixes by the exact token, and the phrases where all their words follow each other (as tokens
    of :func:`~newswire.query.tokenize`).
    """

    def __init__(self, tree: Node | None) -> None:
        self.words: set[str] = set()
        self.stems: set[str] = set()
        self.phrases: list[tuple[str, ...]] = []
        prefixes: list[str] = []
        pending = [tree] if tree is not None else []
        while pending:
            node = pending.pop()
            if isinstance(node, Term) and node.prefix:
                prefixes.append(node.text)
            elif isinstance(node, Term) and node.exact:
                self.words.add(node.text)
            elif isinstance(node, Term):
                self.stems.add(stem(node.text))
            elif isinstance(node, Phrase):
                self.phrases.append(node.tokens)
            elif isinstance(node, And):
                pending.extend(node.positive)
            else:
                pending.extend(node.parts)
        self.prefixes = tuple(prefixes)

    def __call__(self, article: EnrichedArticle) -> tuple[str, ...]:
        fragments: list[str] = []
        if not (self.words or self.stems or self.phrases or self.prefixes):
            return ()
        for name in FIELDS:
            for fragment in self._fragments(getattr(article, name)):
                if fragment not in fragments:
                    fragments.append(fragment)
                if len(fragments) == MAX_HIGHLIGHTS:
                    return tuple(fragments)
        return tuple(fragments)

    def _matches(self, text: str) -> list[re.Match[str]]:
        tokens, words = _tokens(text)
        marked = self._marked(tokens)
        if not marked:
            return []
        if words is None:  # token i is word i: find the places of the matched words only
            found = _WORD.finditer(text)
            matches: list[re.Match[str]] = []
            after = 0
            for i in sorted(marked):
                matches.append(next(itertools.islice(found, i - after, None)))
                after = i + 1
            return matches
        return list({words[i].start(): words[i] for i in sorted(marked)}.values())

    def _marked(self, tokens: list[str]) -> set[int]:
        """The indexes of the matched tokens; each distinct token is compared (and stemmed) once."""
        distinct = set(tokens)
        found = distinct & self.words
        if self.prefixes:
            found.update(token for token in distinct if token.startswith(self.prefixes))
        if self.stems:
            found.update(token for token, stemmed in _stemmed(distinct).items() if stemmed in self.stems)
        marked = {i for i, token in enumerate(tokens) if token in found} if found else set()
        for phrase in self.phrases:
            if not phrase or not distinct.issuperset(phrase):
                continue
            width = len(phrase)
            start = -1
            try:
                while True:
                    start = tokens.index(phrase[0], start + 1)
                    if tuple(tokens[start : start + width]) == phrase:
                        marked.update(range(start, start + width))
            except ValueError:  # no further place where the phrase's first token is
                pass
        return marked

    def _fragments(self, text: str) -> Iterator[str]:
        """Windows of about FRAGMENT_CHARS characters, from word boundaries, around the matched words."""
        matches = self._matches(text)
        index = 0
        while index < len(matches):
            first = matches[index]
            start = 0
            if len(text) > FRAGMENT_CHARS and first.start() > FRAGMENT_CHARS // 3:  # context before the match
                space = _SPACE.search(text, first.start() - FRAGMENT_CHARS // 3, first.start())
                start = space.end() if space is not None else first.start()
            space = _SPACE.search(text, max(first.end(), start + FRAGMENT_CHARS))
            end = space.start() if space is not None else len(text)
            pieces: list[str] = []
            cursor = start
            while index < len(matches) and matches[index].end() <= end:
                match = matches[index]
                # a word is word characters only: nothing in it to escape or to fold
                pieces.append(_escaped(text[cursor : match.start()]) + "<em>" + match.group() + "</em>")
                cursor = match.end()
                index += 1
            pieces.append(_escaped(text[cursor:end]))
            yield "".join(pieces).strip()


def _tokens(text: str) -> tuple[list[str], list[re.Match[str]] | None]:
    """The tokens of :func:`~newswire.query.tokenize` in ``text``; and None when token ``i`` is word ``i`` of the text
    (the usual case), otherwise the word (a match in ``text``) each token is in.

    Lower-casing the whole text once gives the same tokens at the same places when it keeps the text's length (no
    character became two, as ``İ`` does) and has no capital sigma (whose lower case depends on where the word
    ends): a character that lower-cases into one character is a word character exactly when its lower case is one
    (a unit test checks every code point), so the words of the lower-cased text are those of the text. Otherwise
    each word is lower-cased on its own.
    """
    if text.isascii() or (len(text.lower()) == len(text) and "Σ" not in text):
        return tokenize(text), None  # its one-pass shortcuts give the tokens in the words' order here
    words, tokens = [], []
    for word in _WORD.finditer(text):
        for token in word_tokens(word.group()):
            words.append(word)
            tokens.append(token)
    return tokens, words


def _stemmed(tokens: set[str]) -> dict[str, str]:
    """Each token's stem (:func:`~newswire.query.stems`, which keeps the stems of the tokens seen lately)."""
    listed = list(tokens)
    return dict(zip(listed, stems(listed), strict=True))


def _escaped(text: str) -> str:
    return html.escape(_SPACE.sub(" ", text), quote=True)


def highlight_text(fragment: str) -> str:
    """A highlight as plain text, with the matched words in brackets (for a terminal)."""
    return html.unescape(fragment.replace("<em>", "[").replace("</em>", "]"))
