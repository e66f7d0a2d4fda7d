"""The packaged sentence model with integer arithmetic, derived once from the packaged file and kept in a cache.

The packaged all-MiniLM-L6-v2 stores its weights as int8 but computes in float32: ONNX Runtime folds each weight's
``Cast`` and ``Mul`` back into a float matrix when it loads the file, so every matrix product is a float GEMM.
:func:`derive` turns the 36 products with a weight matrix into integer ones with ONNX Runtime's dynamic quantization
(int8 weights, one scale per output channel; the activations are quantized to uint8 per call): on one core of this
project's machines that embeds a text about twice as fast, and the vectors stay within a cosine of about 0.99 of the
float ones (``tests/unit/processors/test_embedding_int8.py``; the storyline figures of ``newswire evaluate`` are the
same). The attention products and the layer norms stay in float.

Deriving takes about 4 CPU seconds and 500 MiB at its peak (the float matrices, then the ``onnx`` graph), so
:func:`derived_model` runs it in a child process, which keeps it out of the processor's own peak memory, and keeps
the result in a cache folder under a name made of everything it depends on (the source file's sha256, the ONNX
Runtime and ``onnx`` versions, :data:`RECIPE`), beside a sha256 of the result that is checked on every load.

    python -m newswire.processors.quantize SOURCE TARGET    # what the child process runs
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from newswire.errors import EnrichmentError

__all__ = ["RECIPE", "default_cache_dir", "derive", "derived_model"]

logger = logging.getLogger(__name__)

#: Names the way the model is derived; change it when :func:`derive` changes, so cached files are derived anew.
RECIPE = "dynint8pc1"
_DERIVE_TIMEOUT = 600.0  # seconds; about 5 on an idle core
_REQUIREMENTS = {"onnx": "onnx>=1.17,<2", "onnxruntime": "onnxruntime>=1.20,<2"}  # as in pyproject.toml


def default_cache_dir() -> Path:
    """A folder of this user's own under the system's temporary folder (created private on first use)."""
    return Path(tempfile.gettempdir()) / f"newswire-models-{os.getuid()}"


def derived_model(source: Path, source_sha256: str, cache_dir: Path | None = None) -> Path:
    """The integer-arithmetic model derived from ``source`` (whose sha256 is ``source_sha256``), derived if needed.

    ``cache_dir`` defaults to :func:`default_cache_dir`. A folder that another user owns or may write to is not
    trusted: the model is then derived into a private temporary folder for this process alone.

    Raises:
        EnrichmentError: ``onnx`` is not installed, or deriving failed.
    """
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    # Versions from the installed metadata: importing onnx here would add its memory to the processor's for good.
    try:
        versions = f"ort{importlib.metadata.version('onnxruntime')}-onnx{importlib.metadata.version('onnx')}"
    except importlib.metadata.PackageNotFoundError as exc:
        wanted = _REQUIREMENTS.get(str(exc.name), str(exc.name))
        raise EnrichmentError(f"deriving the int8 embedding model needs {exc.name}: pip install '{wanted}'") from exc
    name = f"{source.stem}-{source_sha256[:16]}-{RECIPE}-{versions}.onnx"
    if not _private_folder(folder):
        logger.warning("model cache %s is not this user's private folder; deriving the model for this process", folder)
        folder = Path(tempfile.mkdtemp(prefix="newswire-model-"))
    target = folder / name
    if _intact(target):
        return target
    logger.info("deriving the int8 embedding model from %s into %s (once per machine and version)", source, target)
    # -I: the working directory must not shadow the installed package (a checkout's newswire/ folder would).
    command = [sys.executable, "-I", "-m", __name__, str(source), str(target)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_DERIVE_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnrichmentError(f"deriving the int8 embedding model from {source} failed: {exc}") from exc
    if done.returncode != 0 or not _intact(target):
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise EnrichmentError(
            f"deriving the int8 embedding model from {source} failed (exit {done.returncode}): {last}"
        )
    return target


def derive(source: Path, target: Path) -> None:
    """Write the integer-arithmetic model of ``source`` to ``target``, and its sha256 beside it; in this process.

    Both files are written under temporary names and renamed into place, so a reader sees whole files only, and
    two processes deriving at once each leave a whole (and identical) pair.
    """
    import onnxruntime  # noqa: PLC0415 - only this child process needs the quantization tooling
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="newswire-derive-") as work:
        folded = Path(work) / "folded.onnx"
        options = onnxruntime.SessionOptions()
        # Basic optimisation folds the int8 weights and their scales into float matrices (the constants that
        # quantize_dynamic can quantize) and keeps the graph to standard ONNX operators.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        onnxruntime.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        quantized = Path(work) / "quantized.onnx"
        # Per channel: one scale per output column keeps the vectors closest to the float model's, the aim here
        # (the same model, faster), not any figure; reduce_range is for CPUs without VNNI, and was slower here.
        quantize_dynamic(folded, quantized, weight_type=QuantType.QInt8, per_channel=True)
        digest = _sha256(quantized)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}")
        staged.write_bytes(quantized.read_bytes())
        os.replace(staged, target)
        staged_sum = _checksum_file(target).with_name(f".{target.name}.sha256.{os.getpid()}")
        staged_sum.write_text(digest + "\n", "ascii")
        os.replace(staged_sum, _checksum_file(target))


def _checksum_file(model: Path) -> Path:
    return model.with_name(model.name + ".sha256")


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _intact(model: Path) -> bool:
    """Whether ``model`` and its checksum are there and agree (a torn or altered file is derived again)."""
    try:
        expected = _checksum_file(model).read_text("ascii").strip()
        return _sha256(model) == expected
    except OSError:
        return False


def _private_folder(folder: Path) -> bool:
    """Create ``folder`` (mode 700) if absent; whether it is this user's and nobody else may write to it."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = folder.stat()
    except OSError:
        return False
    others_write = stat.S_IWGRP | stat.S_IWOTH
    return stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid() and not status.st_mode & others_write


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m newswire.processors.quantize SOURCE TARGET", file=sys.stderr)
        return 2
    derive(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
