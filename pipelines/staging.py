"""A run's records normalised, identified and staged into its Snapshot in a second process.

A crawl's own process runs Scrapy's engine and the spider, and checks each record (validate, and
the one refusal normalisation makes: an unknown country), so that a refused item is dropped as
it passes. The rest of the work per record (normalise, identify, its snapshot line, staging it
on disk) goes, a batch at a time, to a process of its own: on a machine with two cores the
crawl does not wait for it. The problems normalisation met come back with a later batch's
answer, to be counted and logged by the crawl (`report`); a record that cannot be normalised or
staged at all is one such problem (`staging_error`), and is not kept. A bounded queue keeps the crawl from
running ahead of the staging by more than a few batches, so memory stays flat. `finish` waits
for the last batch and returns the Snapshot, its staging file reopened in the calling process,
ready to be judged and committed (scrapers/runs.py).
"""

import marshal
import multiprocessing
import pickle
import queue
import traceback

from pipelines.identify import identify
from pipelines.normalise import normalise
from pipelines.store import Snapshot

BATCH = 500  # records a message
QUEUED_BATCHES = 8  # messages in flight before `add` waits
WAIT_S = 1  # how often a wait checks that the staging process is still there


def _packed(batch: list) -> bytes:
    """A batch as bytes: marshal where it can (built-in types only, and the fastest), else pickle."""
    try:
        return b"m" + marshal.dumps(batch)
    except ValueError:
        return b"p" + pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def _unpacked(message: bytes) -> list:
    return (marshal.loads if message[:1] == b"m" else pickle.loads)(memoryview(message)[1:])


def prepared(record: dict) -> tuple[str, dict, list[str]]:
    """A checked record normalised and identified, with its label ("<source> <source id>") and the
    problems normalising it met: what a snapshot or a distributed run's coordinator takes."""
    record, problems = normalise(record)
    return f"{record['source']} {record['source_id']}", identify(record), problems


def _stage(snapshot_arguments: dict, inbox, outbox) -> None:
    """The second process: normalise, identify and add each record; send back, a batch at a time,
    the problems met, and at the end the snapshot."""
    try:
        snapshot = Snapshot(**snapshot_arguments)
        while (message := inbox.get()) is not None:
            problems = []
            for record, position in _unpacked(message):
                try:
                    label, record, met = prepared(record)
                    snapshot.add(record, position)
                except Exception as error:  # one bad record is a problem counted, not the run's end
                    label = f"{record.get('source')} {record.get('source_id')}"
                    met = [f"staging_error: {type(error).__name__}: {error}; the record was not kept"]
                if met:
                    problems.append((label, met))
            if problems:
                outbox.put(("problems", problems))
        outbox.put(("snapshot", pickle.dumps(snapshot)))  # pickled here, where its connection was opened
    except BaseException:  # handed to the crawl, which raises it at `finish`
        outbox.put(("failed", traceback.format_exc()))
        raise


class StagingProcess:
    """Takes a run's checked records (`add`, as a Snapshot does) and stages them in a second process
    into the Snapshot that `Snapshot(**snapshot_arguments)` opens there; `report(label, problems)`
    is called here with the problems normalising a record met."""

    def __init__(self, report, **snapshot_arguments):
        self.report = report
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of the reactor
        self._inbox = context.Queue(maxsize=QUEUED_BATCHES)
        self._outbox = context.Queue()
        self._process = context.Process(target=_stage, args=(snapshot_arguments, self._inbox, self._outbox),
                                        name="frt-staging", daemon=True)
        self._process.start()
        self._batch: list[tuple] = []
        self.added = 0

    def add(self, record: dict, position: tuple | None = None) -> None:
        self._batch.append((record, position))
        self.added += 1
        if len(self._batch) >= BATCH:
            self._send()

    def _send(self) -> None:
        self._put(_packed(self._batch))
        self._batch = []
        while not self._outbox.empty():
            self._answer(self._outbox.get())

    def _answer(self, answer: tuple) -> Snapshot | None:
        kind, content = answer
        if kind == "failed":
            raise RuntimeError(f"staging the run's records failed in the staging process:\n{content}")
        if kind == "snapshot":
            return pickle.loads(content)
        for label, problems in content:
            self.report(label, problems)
        return None

    def finish(self) -> Snapshot:
        """Send the last batch, wait for the staging to end, and return its Snapshot."""
        if self._batch:
            self._send()
        self._put(None)
        snapshot = None
        while snapshot is None:
            try:
                snapshot = self._answer(self._outbox.get(timeout=WAIT_S))
            except queue.Empty:
                self._check()
        self._process.join()
        return snapshot

    def _put(self, message: bytes | None) -> None:
        while True:
            try:
                return self._inbox.put(message, timeout=WAIT_S)
            except queue.Full:
                self._check()

    def _check(self) -> None:
        if not self._process.is_alive():
            raise RuntimeError(f"the staging process ended (exit code {self._process.exitcode}) "
                               "before the run's records were staged")
