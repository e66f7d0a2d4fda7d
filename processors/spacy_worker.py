"""spaCy in a process of its own, so that it has a core to itself while the processor's other work runs beside it.

A processor spends most of its time in spaCy, and the rest (entity resolution, topics, storylines and their
sentence model, the bus, and in ``newswire run`` ingest and the indexer too) shares one interpreter with it. In one
process that rest waits for spaCy and spaCy for it. :class:`SpacyWorker` runs the pipeline in a child process and
hands back only what the processor reads of a document: its entity spans (:func:`~.spans.model_spans`, a pure
function of the document). A batch goes to the child in chunks, each made (its texts cleaned) by a sender thread
just before the child needs it; while the child reads chunk *k + 1*, the processor resolves the entities and
groups the stories of chunk *k*. The stage reads the next batch ahead and asks for its spans at once
(:meth:`~.service.ArticleProcessor.prefetch`), so the child goes on to it while the batch in hand is finished, sent
and committed, instead of waiting for the next poll.

:class:`LocalSpans` is the same interface over a pipeline in this process (tests, ``newswire evaluate``).

Failures: an exception inside spaCy comes back as an :class:`~newswire.errors.EnrichmentError` naming it, and the
stage retries the batch article by article as it does for any enrichment failure. A child that dies (a crash in
native code, the kernel's OOM killer) is an :class:`~newswire.errors.EnrichmentError` too, and the next call starts
a new child, so only the article that kills it is dead-lettered. The child ends when its pipe closes: a processor
killed with SIGKILL does not leave it behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol

from newswire.errors import EnrichmentError
from newswire.processors.entities import model_version as pipeline_version
from newswire.processors.spans import Span, model_spans

logger = logging.getLogger(__name__)

__all__ = ["CHUNK_TEXTS", "LocalSpans", "SpacyWorker", "SpanSource"]

CHUNK_TEXTS = 16  # texts a chunk: small enough to overlap, large enough for spaCy's batching
START_TIMEOUT = 300.0  # seconds for the child to import spaCy and load the model
CHUNK_TIMEOUT = 600.0  # seconds for one chunk before the child is taken for hung
ANSWER_POLL = 0.2  # seconds between looks at whether making a chunk failed, while an answer is awaited


class SpanSource(Protocol):
    """Entity spans of texts, from a spaCy pipeline wherever it runs."""

    @property
    def lang(self) -> str: ...

    @property
    def model_version(self) -> str: ...

    @property
    def generation(self) -> int:
        """Changes when the pipeline is started again (its process died): answers asked for before never come."""
        ...

    def chunks(self, count: int, texts: Callable[[int], Sequence[str]]) -> Iterator[list[list[Span]]]:
        """The spans of each text of chunks ``0 .. count - 1``, a chunk at a time in order; ``texts(k)`` gives chunk
        ``k``'s texts, asked for (in order, perhaps from another thread) only just before the chunk is read.

        A source in another process starts reading them when this is called and has read what was asked for
        before; several calls may be under way at once, and their answers read in any order. An iterator given up
        early has a ``close()`` that tells the source nobody waits for the rest."""
        ...

    def warm_up(self, batch_size: int) -> None: ...

    def close(self) -> None: ...


class LocalSpans:
    """:class:`SpanSource` over ``nlp`` in this process; each chunk is read when it is asked for."""

    def __init__(self, nlp: Any, warm_up: Callable[[Any, int], None] | None = None) -> None:
        self.nlp = nlp
        self._warm_up = warm_up

    @property
    def lang(self) -> str:
        return str(self.nlp.lang)

    @property
    def model_version(self) -> str:
        return pipeline_version(self.nlp)

    @property
    def generation(self) -> int:
        return 0  # the pipeline is this process's own: it is never started again

    def chunks(self, count: int, texts: Callable[[int], Sequence[str]]) -> Iterator[list[list[Span]]]:
        for number in range(count):
            yield [model_spans(doc) for doc in self.nlp.pipe(list(texts(number)), batch_size=1000)]

    def warm_up(self, batch_size: int) -> None:
        if self._warm_up is not None:
            self._warm_up(self.nlp, batch_size)

    def close(self) -> None:
        """Nothing to release."""


class SpacyWorker:
    """:class:`SpanSource` over the pipeline of ``model`` in a child process, started now and again after a crash.

    Not for concurrent use: one processor stage calls it, from one thread.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._context = multiprocessing.get_context("spawn")  # the caller has threads: never fork them
        self._conn: Connection | None = None
        self._process: Any = None
        self._ticket = 0
        self._send_lock = threading.Lock()
        self._lang = ""
        self._model_version = ""
        self._generation = 0
        self._sender: threading.Thread | None = None  # the last call's: the next one sends after it has
        self._open: dict[int, int] = {}  # first ticket -> chunks, of the calls whose answers someone still waits for
        self._kept: dict[int, tuple[str, Any]] = {}  # answers read while another was awaited, for their own reader
        self._start()

    @property
    def lang(self) -> str:
        return self._lang

    @property
    def model_version(self) -> str:
        return self._model_version

    @property
    def generation(self) -> int:
        return self._generation

    def chunks(self, count: int, texts: Callable[[int], Sequence[str]]) -> Iterator[list[list[Span]]]:
        conn = self._ready()
        first = self._ticket + 1
        self._ticket += count
        # Chunks are made and sent from a thread of their own: while the child reads chunk k, chunk k + 1 is made
        # (and the caller finishes chunk k - 1); and a send blocks while the child is busy and its pipe full, so the
        # answers must be read meanwhile, or both sides would wait on each other. A call's thread sends after the
        # previous call's has sent all of its chunks, so the child reads calls in the order they were made.
        failed: list[BaseException] = []
        sender = threading.Thread(
            target=_send_chunks,
            args=(conn, self._send_lock),
            kwargs={"first": first, "count": count, "texts": texts, "failed": failed, "after": self._sender},
            name="newswire-spacy-send",
            daemon=True,
        )
        self._sender = sender
        self._open[first] = count
        sender.start()
        return _Answers(self, first, count, self._generation, failed)

    def _close_call(self, first: int) -> None:
        """Nobody waits for the answers of the call whose first ticket is ``first`` any more."""
        count = self._open.pop(first, 0)
        for ticket in range(first, first + count):
            self._kept.pop(ticket, None)

    def warm_up(self, batch_size: int) -> None:
        conn = self._ready()
        self._ticket += 1
        _send_all(conn, self._send_lock, [("warm_up", self._ticket, batch_size)])
        self._receive(self._ticket, CHUNK_TIMEOUT)

    def close(self) -> None:
        self._stop()

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=serve, args=(child, self.model), name="newswire-spacy", daemon=True)
        process.start()
        child.close()
        self._conn, self._process = parent, process
        try:
            if not parent.poll(START_TIMEOUT):
                raise EnrichmentError(f"the spaCy worker did not load {self.model!r} within {START_TIMEOUT:.0f}s")
            kind, *rest = parent.recv()
        except (EOFError, OSError) as exc:
            raise self._died("loading the model", exc) from exc
        except EnrichmentError:
            self._stop()
            raise
        if kind == "failed":
            self._stop()
            raise EnrichmentError(str(rest[0]))
        self._lang, self._model_version = str(rest[0]), str(rest[1])
        self._generation += 1
        logger.info("spaCy worker pid %s loaded %s (%s)", process.pid, self.model, self._model_version)

    def _ready(self) -> Connection:
        if self._conn is None or self._process is None or not self._process.is_alive():
            self._stop()
            self._start()
        assert self._conn is not None
        return self._conn

    def _receive(self, ticket: int, timeout: float, failed: Sequence[BaseException] = ()) -> list[list[Span]]:
        """The answer to ``ticket``; ``failed`` holds what the sender thread raised making a chunk, if it did."""
        if ticket in self._kept:
            kind, payload = self._kept.pop(ticket)
            return self._answer(kind, payload)
        conn = self._conn
        assert conn is not None
        while True:
            waited = 0.0
            while not self._answered(conn):
                if failed:
                    raise failed[0]  # the caller's own error, not the child's
                waited += ANSWER_POLL
                if waited >= timeout:
                    self._stop()
                    raise EnrichmentError(f"the spaCy worker gave no answer within {timeout:.0f}s; restarting it")
            try:
                kind, answered, payload = conn.recv()
            except (EOFError, OSError) as exc:
                raise self._died("reading texts", exc) from exc
            if answered != ticket:
                if self._awaited(answered):  # another call's, asked for before this one: kept for its reader
                    self._kept[answered] = (kind, payload)
                continue  # or of a call given up (it failed, or its batch was dropped): nobody waits for it
            return self._answer(kind, payload)

    def _awaited(self, ticket: int) -> bool:
        return any(first <= ticket < first + count for first, count in self._open.items())

    @staticmethod
    def _answer(kind: str, payload: Any) -> list[list[Span]]:
        if kind == "error":
            raise EnrichmentError(f"spaCy failed: {payload}")
        return payload  # type: ignore[no-any-return]

    def _answered(self, conn: Connection) -> bool:
        """Whether an answer waits in the pipe, looking for :data:`ANSWER_POLL` seconds at most."""
        try:
            return conn.poll(ANSWER_POLL)
        except (EOFError, OSError) as exc:
            raise self._died("reading texts", exc) from exc

    def _died(self, doing: str, exc: BaseException) -> EnrichmentError:
        code = None
        if self._process is not None:
            self._process.join(timeout=5)
            code = self._process.exitcode
        self._stop()
        return EnrichmentError(f"the spaCy worker process ended while {doing} (exit code {code}): {exc!r}")

    def _stop(self) -> None:
        conn, process = self._conn, self._process
        self._conn = self._process = None
        self._open.clear()
        self._kept.clear()
        if conn is not None:
            if self._send_lock.acquire(timeout=1.0):  # a sender thread stuck on a dead child: just close
                try:
                    conn.send(("stop", 0, None))
                except (OSError, ValueError):
                    pass
                finally:
                    self._send_lock.release()
            conn.close()
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


class _Answers:
    """The answers of one :meth:`SpacyWorker.chunks` call, in order, as the child gives them."""

    def __init__(
        self, worker: SpacyWorker, first: int, count: int, generation: int, failed: list[BaseException]
    ) -> None:
        self._worker = worker
        self._first = first
        self._next = first
        self._end = first + count
        self._generation = generation
        self._failed = failed

    def __iter__(self) -> _Answers:
        return self

    def __next__(self) -> list[list[Span]]:
        if self._next >= self._end:
            self.close()
            raise StopIteration
        if self._worker.generation != self._generation:
            self.close()
            raise EnrichmentError("the spaCy worker was started again after these texts were sent; asked again")
        try:
            answer = self._worker._receive(self._next, CHUNK_TIMEOUT, self._failed)
        except BaseException:
            self.close()
            raise
        self._next += 1
        if self._next >= self._end:
            self.close()
        return answer

    def close(self) -> None:
        """Give up the answers not read yet: the worker drops them when they come."""
        if self._worker.generation == self._generation:
            self._worker._close_call(self._first)
        self._next = self._end


def _send_chunks(
    conn: Connection,
    lock: threading.Lock,
    *,
    first: int,
    count: int,
    texts: Callable[[int], Sequence[str]],
    failed: list[BaseException],
    after: threading.Thread | None = None,
) -> None:
    if after is not None:
        after.join()  # the call before this one has sent all of its chunks
    for number in range(count):
        try:
            chunk = list(texts(number))
        except BaseException as exc:  # the reader raises it in the caller's thread
            failed.append(exc)
            return
        _send_all(conn, lock, [("spans", first + number, chunk)])


def _send_all(conn: Connection, lock: threading.Lock, requests: list[tuple[str, int, Any]]) -> None:
    for request in requests:
        try:
            with lock:  # one message at a time: a call abandoned early may still be sending the rest of its own
                conn.send(request)
        except (OSError, ValueError):
            return  # the child is gone: the reader finds out and says so


def serve(conn: Connection, model: str) -> None:
    """The child: load ``model``, then answer requests until told to stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent stops us
    try:
        from newswire.processors.entities import shared_pipeline  # noqa: PLC0415 - only the child loads spaCy
        from newswire.processors.runtime import prepare_long_run  # noqa: PLC0415
        from newswire.processors.service import warm_up_pipeline  # noqa: PLC0415

        nlp, _ = shared_pipeline(model)
        prepare_long_run()
    except Exception as exc:  # any failure to load is told to the parent, which raises it
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", str(nlp.lang), pipeline_version(nlp)))
    while True:
        try:
            kind, ticket, payload = conn.recv()
        except (EOFError, OSError):
            return
        if kind == "stop":
            return
        try:
            if kind == "warm_up":
                warm_up_pipeline(nlp, int(payload))
                answer: Any = []
            else:
                answer = [model_spans(doc) for doc in nlp.pipe(payload, batch_size=1000)]
        except Exception as exc:  # the parent decides: it retries article by article
            conn.send(("error", ticket, f"{type(exc).__name__}: {exc}"))
            continue
        try:
            conn.send(("spans", ticket, answer))
        except (OSError, ValueError):
            return
