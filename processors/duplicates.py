"""Near-duplicates: the same wire copy republished by several outlets, found with MinHash LSH (datasketch).

An article's fingerprint is a MinHash of the 4-word shingles of its body (summary and content; the title when
there is no body), lower-cased and with punctuation gone, so a copy with another headline, a credit line or a
trimmed last paragraph still matches. Copies whose estimated Jaccard similarity reaches
:attr:`DuplicateIndex.threshold` are one group; ``duplicate_of`` is the earliest published copy the index knows
(the first copy), never a copy of a copy. The index holds only the fingerprints of the time window; the
fingerprints travel in the shared group state (see :mod:`newswire.processors.state`) as base64 of the 32-bit hash
values, so every replica builds the same index.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

logger = logging.getLogger(__name__)

NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's default; named so that stored fingerprints keep their meaning
SHINGLE_WORDS = 4
MIN_SHINGLES = 8  # a body of fewer shingles (a one-line flash) is too short to call a copy


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


def _minhash(values: np.ndarray[Any, np.dtype[np.uint32]]) -> Any:
    return MinHash(num_perm=NUM_PERM, seed=1, hashvalues=values, permutations=_template().permutations, scheme=SCHEME)


def encode_fingerprint(values: np.ndarray[Any, np.dtype[np.uint32]]) -> str:
    return base64.b64encode(values.astype("<u4").tobytes()).decode("ascii")


def decode_fingerprint(text: str) -> np.ndarray[Any, np.dtype[np.uint32]]:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    values = np.frombuffer(raw, dtype="<u4").astype(np.uint32)
    if values.shape != (NUM_PERM,):
        raise ValueError(f"a fingerprint has {NUM_PERM} values, got {values.shape[0]}")
    return values


@dataclass(frozen=True, slots=True)
class _Copy:
    article_id: str
    published: datetime
    original: str | None  # the first copy this one duplicates, or None when it is a first copy itself


class DuplicateIndex:
    """The fingerprints of the window's articles, queried for the first copy of a new article."""

    def __init__(self, threshold: float = 0.6) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._copies: dict[str, _Copy] = {}
        self._values: dict[str, np.ndarray[Any, np.dtype[np.uint32]]] = {}

    def __len__(self) -> int:
        return len(self._copies)

    def first_copy(self, values: np.ndarray[Any, np.dtype[np.uint32]], published: datetime) -> str | None:
        """The id of the first copy of the article with fingerprint ``values``, or None if it is new."""
        minhash = _minhash(values)
        best: _Copy | None = None
        for key in self._lsh.query(minhash):
            other = self._values[key]
            if float(np.count_nonzero(other == values)) / NUM_PERM < self.threshold:
                continue  # LSH candidates include some below the threshold
            known = self._copies[key]
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
        minhash = _minhash(values)
        self._lsh.insert(article_id, minhash, check_duplication=False)
        self._copies[article_id] = _Copy(article_id, published, original)
        self._values[article_id] = values

    def remove(self, article_id: str) -> None:
        if self._copies.pop(article_id, None) is not None:
            self._values.pop(article_id, None)
            self._lsh.remove(article_id)
