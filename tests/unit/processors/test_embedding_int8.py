"""The integer-arithmetic model: close to the packaged float model, derived once, and never loaded from a bad cache.

Deriving runs a child process for a few seconds, so the tests share one derived model where they can.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from newswire.errors import EnrichmentError
from newswire.processors import quantize
from newswire.processors.embedding import MiniLmEmbedder

# Written for these tests: headlines with a sentence of their story, and a few short and odd texts.
TEXTS = [
    "Wagner fighters seize the army headquarters in Rostov-on-Don. Their leader demands the defence minister.",
    "Putin calls the mutiny a stab in the back in a televised address and promises to punish the organisers.",
    "Lukashenko says he brokered the deal that sent the column back from the road to Moscow.",
    "Floods close roads in Valencia after a night of storms; schools stay shut on Tuesday.",
    "Central bank raises its main rate by a quarter point to 4.25%, the ninth rise in a row.",
    "Riverside FC win the cup final 2-1 after extra time",
    "",
    "??? !!! 12:30 GMT",
    "Ξένη γλώσσα και emoji 🌧️ in one headline",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def integer_and_float(cache_dir: Path) -> tuple[MiniLmEmbedder, MiniLmEmbedder]:
    return MiniLmEmbedder(cache_dir=cache_dir), MiniLmEmbedder(integer=False)


def test_integer_vectors_are_close_to_the_float_models(integer_and_float: tuple[MiniLmEmbedder, ...]) -> None:
    integer, floating = integer_and_float
    cosines = (integer.embed(TEXTS) * floating.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.97
    assert float(np.median(cosines)) > 0.985


def test_the_integer_model_keeps_the_float_models_order_of_neighbours(
    integer_and_float: tuple[MiniLmEmbedder, ...],
) -> None:
    # What storyline linking reads is which of its events a new one is closest to: the same in both.
    integer, floating = integer_and_float
    texts = TEXTS[:6]
    by_integer = integer.embed(texts) @ integer.embed(texts).T
    by_float = floating.embed(texts) @ floating.embed(texts).T
    np.fill_diagonal(by_integer, -1.0)
    np.fill_diagonal(by_float, -1.0)
    assert (by_integer.argmax(axis=1) == by_float.argmax(axis=1)).all()


def test_the_two_models_have_different_names(integer_and_float: tuple[MiniLmEmbedder, ...]) -> None:
    integer, floating = integer_and_float
    assert integer.name != floating.name  # their vectors are not to be compared with each other
    assert quantize.RECIPE in integer.name


def test_a_derived_model_is_kept_and_loaded_again_without_deriving(
    cache_dir: Path, integer_and_float: tuple[MiniLmEmbedder, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    (model,) = [path for path in cache_dir.iterdir() if path.suffix == ".onnx"]
    assert (cache_dir / (model.name + ".sha256")).read_text().strip()

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("derived again")

    monkeypatch.setattr(subprocess, "run", no_child)
    again = MiniLmEmbedder(cache_dir=cache_dir)
    np.testing.assert_allclose(again.embed(TEXTS[:2]), integer_and_float[0].embed(TEXTS[:2]), atol=1e-6)


def test_a_cached_model_whose_bytes_changed_is_derived_again(tmp_path: Path, cache_dir: Path) -> None:
    for path in cache_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (model,) = [path for path in tmp_path.iterdir() if path.suffix == ".onnx"]
    with model.open("r+b") as file:
        file.seek(model.stat().st_size // 2)
        file.write(b"\x00" * 64)
    embedder = MiniLmEmbedder(cache_dir=tmp_path)  # would fail or give other vectors if the torn file were loaded
    reference = MiniLmEmbedder(cache_dir=cache_dir)
    np.testing.assert_allclose(embedder.embed(TEXTS[:3]), reference.embed(TEXTS[:3]), atol=1e-6)


def test_a_cache_folder_others_may_write_to_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with caplog.at_level(logging.WARNING, logger="newswire.processors.quantize"):
        embedder = MiniLmEmbedder(cache_dir=shared)
    assert list(shared.iterdir()) == []  # nothing written where someone else could swap it
    assert "not this user's private folder" in caplog.text
    assert embedder.embed(TEXTS[:1]).shape == (1, 384)


def test_without_onnx_the_integer_model_is_an_enrichment_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    version = importlib.metadata.version

    def without_onnx(name: str) -> str:
        if name == "onnx":
            raise importlib.metadata.PackageNotFoundError(name)
        return version(name)

    monkeypatch.setattr(importlib.metadata, "version", without_onnx)
    with pytest.raises(EnrichmentError, match="pip install 'onnx") as caught:
        MiniLmEmbedder(cache_dir=tmp_path)
    assert isinstance(caught.value.__cause__, importlib.metadata.PackageNotFoundError)


def test_a_source_that_is_no_model_fails_to_derive_with_an_enrichment_error(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"not an onnx model")
    with pytest.raises(EnrichmentError, match=r"deriving the int8 embedding model .* failed \(exit 1\)"):
        quantize.derived_model(source, "0" * 64, tmp_path / "cache")
    assert not [path for path in (tmp_path / "cache").iterdir() if path.suffix == ".onnx"]
