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

import pickle

from pipelines.identify import identify
from pipelines.normalise import normalise
from pipelines.second_process import SecondProcess, packed, received, unpacked
from pipelines.store import Snapshot

BATCH = 500  # records a message


def prepared(record: dict) -> tuple[str, dict, list[str]]:
    """A checked record normalised and identified, with its label ("<source> <source id>") and the
    problems normalising it met: what a snapshot or a distributed run's coordinator takes."""
    record, problems = normalise(record)
    return f"{record['source']} {record['source_id']}", identify(record), problems


def _stage(snapshot_arguments: dict, inbox, outbox) -> None:
    """The second process: normalise, identify and add each record; send back, a batch at a time,
    the problems met, and at the end the snapshot."""
    snapshot = Snapshot(**snapshot_arguments)
    while (message := received(inbox)) is not None:
        problems = []
        for record, position in unpacked(message):
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


class StagingProcess:
    """Takes a run's checked records (`add`, as a Snapshot does) and stages them in a second process
    into the Snapshot that `Snapshot(**snapshot_arguments)` opens there; `report(label, problems)`
    is called here with the problems normalising a record met."""

    def __init__(self, report, **snapshot_arguments):
        self.report = report
        self._process = SecondProcess(_stage, (snapshot_arguments,), name="frt-staging",
                                      called="the staging process", doing="staging the run's records")
        self._batch: list[tuple] = []
        self.added = 0

    def add(self, record: dict, position: tuple | None = None) -> None:
        self._batch.append((record, position))
        self.added += 1
        if len(self._batch) >= BATCH:
            self._send()

    def _send(self) -> None:
        self._process.put(packed(self._batch))
        self._batch = []
        for answer in self._process.ready():
            self._answer(answer)

    def _answer(self, answer: tuple) -> Snapshot | None:
        kind, content = answer
        if kind == "snapshot":
            return pickle.loads(content)
        for label, problems in content:
            self.report(label, problems)
        return None

    def finish(self) -> Snapshot:
        """Send the last batch, wait for the staging to end, and return its Snapshot."""
        if self._batch:
            self._send()
        self._process.put(None)
        while (answer := self._process.wait())[0] == "problems":
            self._answer(answer)
        self._process.join()
        return self._answer(answer)
