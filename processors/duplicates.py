"""Near-duplicates: the same wire copy republished by several outlets, found by MinHash and LSH banding.

An article's fingerprint is a MinHash of the 4-word shingles of its body (see :func:`body_words`), lower-cased,
with punctuation and page furniture (share prompts, newsletter sign-ups, "READ MORE" lines; see
:func:`~newswire.processors.cleaning.mask_boilerplate`) gone. The headline and the summary stay out of it, as each
outlet writes its own: a copy with another headline, another standfirst, a credit line or a trimmed last paragraph
still matches. Copies whose estimated Jaccard similarity (the share of equal MinHash values) reaches
:attr:`DuplicateIndex.threshold` are one group, and the LSH bands are cut so that no such pair is missed (see
:func:`lsh_bands`); ``duplicate_of`` is the earliest published copy the index knows (the first copy), never a copy
of a copy. The index holds only the fingerprints of the time window; the fingerprints travel in the shared group
state (see :mod:`newswire.processors.state`) as base64 of the 32-bit hash values, so every replica builds the same
index.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
from datasketch import MinHash

from newswire.processors.cleaning import mask_boilerplate
from newswire.processors.topics import simple_words

logger = logging.getLogger(__name__)

NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's default; named so that stored fingerprints keep their meaning
SHINGLE_WORDS = 4
MIN_SHINGLES = 8  # a body of fewer shingles (a one-line flash) is too short to call a copy
MIN_WORDS = MIN_SHINGLES + SHINGLE_WORDS - 1  # the fewest words that can give MIN_SHINGLES shingles


def _fmix32(values: np.ndarray[Any, np.dtype[np.uint32]]) -> np.ndarray[Any, np.dtype[np.uint32]]:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before its permutations (uint32 arithmetic wraps)."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


@cache
def _template() -> Any:
    # Building the permutations is the costly part of a MinHash; every fingerprint shares one set.
    return MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)


def body_words(title: str, summary: str, content: str) -> list[str]:
    """The words an article is fingerprinted by: its content, without page furniture.

    The summary stands in for a content too short to fingerprint (a feed that gives the body in its description
    and a teaser or nothing as content), and the title for an article with neither. Otherwise neither enters:
    outlets that carry one wire copy each write their own headline and standfirst, and on a short body a
    standfirst alone can pull the similarity of two identical bodies below the threshold.
    """
    words = simple_words(mask_boilerplate(content))
    if len(words) >= MIN_WORDS:
        return words
    words = max(words, simple_words(mask_boilerplate(summary)), key=len)
    return words or simple_words(title)


def shingles(words: list[str]) -> set[str]:
    """The distinct ``SHINGLE_WORDS``-word shingles of ``words``."""
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def fingerprint(words: list[str]) -> np.ndarray[Any, np.dtype[np.uint32]] | None:
    """The MinHash hash values of ``words``, or None when the text is too short to compare.

    The values are those of a datasketch ``MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")`` updated with the
    UTF-8 shingles (its SHA-1 hash, the MurmurHash3 finalizer, then ``a * h + b`` in 32 bits per permutation), so
    fingerprints in the shared state keep their meaning; computed here in one pass, without a MinHash object or a
    ``struct`` call per shingle, it takes about two thirds of the time.
    """
    found = shingles(words)
    if len(found) < MIN_SHINGLES:
        return None
    sha1 = hashlib.sha1
    digests = b"".join([sha1(shingle.encode("utf-8")).digest()[:4] for shingle in found])
    hashes = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
    factors, offsets = _template().permutations
    values: np.ndarray[Any, np.dtype[np.uint32]] = (np.multiply.outer(hashes, factors) + offsets).min(axis=0)
    return values.astype(np.uint32, copy=False)


def encode_fingerprint(values: np.ndarray[Any, np.dtype[np.uint32]]) -> str:
    return base64.b64encode(values.astype("<u4").tobytes()).decode("ascii")


def decode_fingerprint(text: str) -> np.ndarray[Any, np.dtype[np.uint32]]:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    values = np.frombuffer(raw, dtype="<u4").astype(np.uint32)
    if values.shape != (NUM_PERM,):
        raise ValueError(f"a fingerprint has {NUM_PERM} values, got {values.shape[0]}")
    return values


def lsh_bands(threshold: float) -> tuple[int, int]:
    """``(bands, rows)`` of the LSH index: the most rows per band that still miss no pair at ``threshold``.

    Two fingerprints at the threshold differ in at most ``NUM_PERM - ceil(threshold * NUM_PERM)`` values; with
    more bands than that, one band at least has no differing value, so the pair is a candidate wherever the
    differences fall: at 0.6, 64 bands of 2 rows. datasketch's ``MinHashLSH`` picks 18 bands of 7, which misses
    about 1 pair in 5 at 0.7 and more than half at 0.6. Fewer rows bring more candidates below the threshold;
    :meth:`DuplicateIndex.first_copy` checks each one (a comparison of 128 integers).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"the duplicate threshold is a similarity in (0, 1], got {threshold}")
    most_different = NUM_PERM - math.ceil(threshold * NUM_PERM - 1e-9)
    rows = max(r for r in range(1, NUM_PERM // 2 + 1) if NUM_PERM // r > most_different)
    return NUM_PERM // rows, rows


@dataclass(frozen=True, slots=True)
class _Copy:
    article_id: str
    published: datetime
    original: str | None  # the first copy this one duplicates, or None when it is a first copy itself


class DuplicateIndex:
    """The fingerprints of the window's articles, queried for the first copy of a new article.

    An LSH index: each fingerprint is cut into the :func:`lsh_bands` bands, the values of a band are a bucket key,
    and the articles that share a bucket with a new one are its candidates, each then checked against the threshold.
    """

    def __init__(self, threshold: float = 0.6) -> None:
        self.threshold = threshold
        self.bands, self.rows = lsh_bands(threshold)
        # A pair at the threshold differs in at most most_different values, and each differing value spoils at most
        # one band, so it has at least this many bands in common (13 of 64 at 0.6).
        most_different = NUM_PERM - math.ceil(threshold * NUM_PERM - 1e-9)
        self.min_shared_bands = max(1, self.bands - most_different)
        # Per band, its values as bytes -> the article with them, or the set of them when several have. Most buckets
        # hold one article: a plain id there keeps an article's 64 buckets at about 4.5 kB, where datasketch's
        # MinHashLSH, with a set in every bucket, takes 19 kB (and 5.7 kB for its 18 bands).
        self._buckets: list[dict[bytes, str | set[str]]] = [{} for _ in range(self.bands)]
        self._copies: dict[str, _Copy] = {}
        self._values: dict[str, np.ndarray[Any, np.dtype[np.uint32]]] = {}

    def __len__(self) -> int:
        return len(self._copies)

    def _band_keys(self, values: np.ndarray[Any, np.dtype[np.uint32]]) -> list[bytes]:
        raw = values.astype("<u4", copy=False).tobytes()
        width = 4 * self.rows
        return [raw[start : start + width] for start in range(0, self.bands * width, width)]

    def first_copy(self, values: np.ndarray[Any, np.dtype[np.uint32]], published: datetime) -> str | None:
        """The id of the first copy of the article with fingerprint ``values``, or None if it is new."""
        # Each band an article shares counts once. With 2-row bands, articles that only share stock phrases ("said
        # on Monday that") share a band or two, and most of the window is such a candidate (370 of 1,500 on the
        # processor bench); a pair at the threshold shares at least min_shared_bands (see __init__), so only those
        # are compared value by value, and no pair at the threshold is missed.
        shared: Counter[str] = Counter()
        for bucket, key in zip(self._buckets, self._band_keys(values), strict=True):
            found = bucket.get(key)
            if isinstance(found, str):
                shared[found] += 1
            elif found is not None:
                shared.update(found)
        best: _Copy | None = None
        for candidate, bands in shared.items():
            if bands < self.min_shared_bands:
                continue
            other = self._values[candidate]
            if float(np.count_nonzero(other == values)) / NUM_PERM < self.threshold:
                continue  # LSH candidates include some below the threshold
            known = self._copies[candidate]
            root = self._copies.get(known.original, known) if known.original else known
            if best is None or (root.published, root.article_id) < (best.published, best.article_id):
                best = root
        return best.article_id if best is not None else None

    def add(
        self,
        article_id: str,
        values: np.ndarray[Any, np.dtype[np.uint32]],
        published: datetime,
        original: str | None,
    ) -> None:
        """Remember an article's fingerprint (again: a replayed article replaces its earlier entry)."""
        if article_id in self._copies:
            self.remove(article_id)
        for bucket, key in zip(self._buckets, self._band_keys(values), strict=True):
            found = bucket.get(key)
            if found is None:
                bucket[key] = article_id
            elif isinstance(found, str):
                bucket[key] = {found, article_id}
            else:
                found.add(article_id)
        self._copies[article_id] = _Copy(article_id, published, original)
        self._values[article_id] = values

    def remove(self, article_id: str) -> None:
        if self._copies.pop(article_id, None) is None:
            return
        values = self._values.pop(article_id)
        for bucket, key in zip(self._buckets, self._band_keys(values), strict=True):
            found = bucket.get(key)
            if isinstance(found, set):
                found.discard(article_id)
                if len(found) == 1:
                    bucket[key] = found.pop()
            elif found == article_id:
                del bucket[key]
