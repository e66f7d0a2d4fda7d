"""Highlights: the words a hit matched, in ``<em>``, cut from the stored article; both stores use them.

A highlight is HTML: the article's own text is escaped (``<script>`` comes back as ``&lt;script&gt;``, an ``<em>``
the article wrote as ``&lt;em&gt;``), so the only tags in it are the ``<em>`` and ``</em>`` around matched words, and
a page may insert it as HTML as it is. :func:`highlight_text` gives the plain text with the matches in brackets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from newswire.contract import EnrichedArticle
from newswire.query import And, Node, Phrase, Term, stem, stems, word_tokens
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
        words, tokens = _tokens(text)
        marked = {i for i, token in enumerate(tokens) if token in self.words or token.startswith(self.prefixes)}
        if self.stems:
            distinct = sorted(set(tokens))  # stemmed once each: most words of a text come back
            stemmed = dict(zip(distinct, stems(distinct), strict=True))
            marked.update(i for i, token in enumerate(tokens) if stemmed[token] in self.stems)
        for phrase in self.phrases:
            for i in range(len(tokens) - len(phrase) + 1):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    marked.update(range(i, i + len(phrase)))
        return list({words[i].start(): words[i] for i in sorted(marked)}.values())

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
                pieces.append(_escaped(text[cursor : match.start()]) + "<em>" + _escaped(match.group()) + "</em>")
                cursor = match.end()
                index += 1
            pieces.append(_escaped(text[cursor:end]))
            yield "".join(pieces).strip()


def _tokens(text: str) -> tuple[list[re.Match[str]], list[str]]:
    """The tokens of :func:`~newswire.query.tokenize` in ``text``, each with the word (a match in ``text``) it is in.

    Lower-casing the whole text once gives the same tokens at the same places when it keeps the text's length (no
    character became two, as ``İ`` does) and has no capital sigma (whose lower case depends on where the word
    ends); otherwise each word is lower-cased on its own.
    """
    lowered = text.lower()
    if len(lowered) == len(text) and "Σ" not in text:
        words = list(_WORD.finditer(text))
        tokens = [lowered[word.start() : word.end()] for word in words]
        if all(_WORD.fullmatch(token) for token in tokens if not token.isalnum()):
            return words, tokens
    words, tokens = [], []
    for word in _WORD.finditer(text):
        for token in word_tokens(word.group()):
            words.append(word)
            tokens.append(token)
    return words, tokens


def _escaped(text: str) -> str:
    return html.escape(_SPACE.sub(" ", text), quote=True)


def highlight_text(fragment: str) -> str:
    """A highlight as plain text, with the matched words in brackets (for a terminal)."""
    return html.unescape(fragment.replace("<em>", "[").replace("</em>", "]"))
