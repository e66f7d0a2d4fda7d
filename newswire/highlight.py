"""Highlights: the words a hit matched, in ``<em>``, cut from the stored article; both stores use them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from newswire.contract import EnrichedArticle
from newswire.query import And, Node, Phrase, Term
from newswire.search import FIELD_WEIGHTS

FIELDS = tuple(FIELD_WEIGHTS)
MAX_HIGHLIGHTS = 3
FRAGMENT_CHARS = 160
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


class Highlighter:
    """Fragments of a hit's title, summary and content with the words it matched in ``<em>``; both stores use it.

    ``Highlighter(parse_query(text))(article)`` gives up to :data:`MAX_HIGHLIGHTS` fragments, title first. Matched
    words: the words and prefixes of the query outside NOT, and the phrases where all their words follow each other
    (as tokens of :func:`~newswire.query.tokenize`).
    """

    def __init__(self, tree: Node | None) -> None:
        self.words: set[str] = set()
        self.phrases: list[tuple[str, ...]] = []
        prefixes: list[str] = []
        pending = [tree] if tree is not None else []
        while pending:
            node = pending.pop()
            if isinstance(node, Term) and node.prefix:
                prefixes.append(node.text)
            elif isinstance(node, Term):
                self.words.add(node.text)
            elif isinstance(node, Phrase):
                self.phrases.append(node.tokens)
            elif isinstance(node, And):
                pending.extend(node.positive)
            else:
                pending.extend(node.parts)
        self.prefixes = tuple(prefixes)

    def __call__(self, article: EnrichedArticle) -> tuple[str, ...]:
        fragments: list[str] = []
        if not (self.words or self.phrases or self.prefixes):
            return ()
        for name in FIELDS:
            for fragment in self._fragments(getattr(article, name)):
                if fragment not in fragments:
                    fragments.append(fragment)
                if len(fragments) == MAX_HIGHLIGHTS:
                    return tuple(fragments)
        return tuple(fragments)

    def _matches(self, text: str) -> list[re.Match[str]]:
        words = list(_WORD.finditer(text))
        tokens = [word.group().lower() for word in words]
        marked = {i for i, token in enumerate(tokens) if token in self.words or token.startswith(self.prefixes)}
        for phrase in self.phrases:
            for i in range(len(tokens) - len(phrase) + 1):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    marked.update(range(i, i + len(phrase)))
        return [words[i] for i in sorted(marked)]

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
                pieces.append(text[cursor : match.start()] + "<em>" + match.group() + "</em>")
                cursor = match.end()
                index += 1
            pieces.append(text[cursor:end])
            yield _SPACE.sub(" ", "".join(pieces)).strip()
