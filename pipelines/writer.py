"""Inserts run on a thread of their own, so that SQLite writes one batch while Python shapes the next.

The sqlite3 module lets go of the interpreter while SQLite works, so on a machine with two cores the
build's reading and its writing overlap. Batches run in the order they were given, on the one
connection (opened with check_same_thread=False); `wait` returns once all have run, and raises
there the error a batch met. Nothing else may use the connection until `wait` returned.
"""

import queue
import sqlite3
import threading

QUEUED_BATCHES = 4


class Writer:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.batches: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            batch = self.batches.get()
            try:
                if batch is None:
                    return
                if self.error is None:
                    self.conn.executemany(*batch)
            except BaseException as error:  # noqa: BLE001 - handed to the caller of wait()
                self.error = error
            finally:
                self.batches.task_done()

    def executemany(self, sql: str, rows: list) -> None:
        self._raise()
        self.batches.put((sql, rows))

    def wait(self) -> None:
        """Return once every batch given has run; raise the error one of them met."""
        self.batches.join()
        self._raise()

    def close(self) -> None:
        """Stop the thread once the batches given have run (their errors are `wait`'s to raise)."""
        if self.thread.is_alive():
            self.batches.put(None)
            self.thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
