"""Phones of a big import normalised one chunk ahead, in a second process.

phonenumbers is the largest cost of checking a row (~25 µs a number, and a
sheet's numbers rarely repeat, so no cache helps), and it is pure: the same
text and region give the same answer anywhere. So while this process
checks and writes one chunk, a forked worker normalises the phones of the
next with the very same function (validation.normalize_phone); its answers,
refusals included, go into the Cleaner's cache before that chunk is checked.
A phone the worker did not see (one settled from extra, say), or every
phone once the worker is gone, is simply worked out here.

Only for big files, only where fork exists, with a second core, and with no
other thread running (a fork copies no threads, and their locks could be
held). The worker never touches the database: it inherits the open file but
no lock on it, ignores Ctrl-C (this process handles it) and ends when this
process does, since its end of the pipe then closes.
"""

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from minicrm.errors import ValidationError
from minicrm.services.records.validation import clean_text, normalize_phone

PARALLEL_ROWS = 20_000  # below this the worker's start-up is not paid back


def usable() -> bool:
    """A fork, a second core, and no other thread in this process."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > 1 and threading.active_count() == 1


@contextmanager
def phones_ahead(chunks: Iterable[list], cleaner, *, parallel: bool) -> Iterator[Iterator[list]]:
    """`chunks` (lists of SourceRow) as they come; with `parallel`, each one's
    phones are already in `cleaner`'s cache when it is handed out."""
    if not (parallel and usable()):
        yield iter(chunks)
        return
    worker = _Worker()
    try:
        yield _ahead(chunks, cleaner, worker)
    finally:
        worker.close()


def _ahead(chunks: Iterable[list], cleaner, worker: "_Worker") -> Iterator[list]:
    """Each chunk, once the worker's answers for it are in. The first is
    worked out here while the worker starts on the second. A chunk is asked
    for only when the answers before it are taken, so neither side ever
    waits on a full pipe."""
    iterator = iter(chunks)
    current, asked = next(iterator, None), None
    while current is not None:
        following = next(iterator, None)
        if asked is not None:
            answers = worker.answers()
            if answers is not None:
                cleaner.learn_phones(asked, answers)
        asked = None
        if following is not None:
            texts = _new_phones(following, cleaner)
            if worker.ask(texts, cleaner.region):
                asked = texts
        yield current
        current = following


def _new_phones(chunk: list, cleaner) -> list[str]:
    """The distinct primary phones of `chunk` the cleaner has not seen, as
    Cleaner.phone will look them up."""
    texts: dict[str, None] = {}
    for row in chunk:
        value = row.fields.get("phone")
        if isinstance(value, str):
            text = clean_text(value)
            if text is not None and not cleaner.knows_phone(text):
                texts[text] = None
    return list(texts)


def normalize_phones(texts: list[str], region: str | None) -> list[Any]:
    """normalize_phone of each text; a refusal as ("error", message, field)."""
    answers: list[Any] = []
    for text in texts:
        try:
            answers.append(normalize_phone(text, region))
        except ValidationError as exc:
            answers.append(("error", exc.message, exc.field))
    return answers


class _Worker:
    """A forked process answering normalize_phones over a pipe, one request
    at a time; once it fails, every request is refused (False, None)."""

    def __init__(self):
        import phonenumbers  # noqa: F401  (loaded once, before the fork, for both sides)

        context = multiprocessing.get_context("fork")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(theirs, self.connection), daemon=True, name="crm-phones"
        )
        self.process.start()
        theirs.close()
        self.alive = True

    def ask(self, texts: list[str], region: str | None) -> bool:
        if self.alive:
            try:
                self.connection.send((texts, region))
                return True
            except OSError:
                self.alive = False
        return False

    def answers(self) -> list[Any] | None:
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            self.alive = False
            return None

    def close(self) -> None:
        self.alive = False
        self.connection.close()  # the worker sees the end of its pipe and stops
        self.process.join(timeout=1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _serve(connection, ours) -> None:
    """The worker: answer each request until the other end closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ours.close()  # only the parent's copy: when the parent goes, recv() ends
    while True:
        try:
            texts, region = connection.recv()
            connection.send(normalize_phones(texts, region))
        except (EOFError, OSError):  # the parent is done (or gone)
            return
