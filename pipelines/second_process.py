"""Work handed to a second process a batch at a time, so that a machine's second core takes it.

The batches go through a bounded queue, so the sender never runs ahead by more than a few of them
and memory stays flat; they travel as marshal bytes (the fastest for built-in types), pickle
where marshal cannot. The second process answers through another queue: ("failed", traceback)
when its work raised, which is raised here as a RuntimeError with that traceback; any other answer
is the work's own. A second process that ends without answering is an error at the next wait,
never a hang; a first process that ends without saying so (killed: a night's timeout, the kernel
out of memory) ends the second at its next wait for a message (`received`), which would
otherwise wait forever, holding its memory and files. It is spawned: a fresh interpreter, not a
copy of this one (a crawl's reactor, a build's open files). What its modules hold once imported
is frozen out of the garbage collector's sweeps (`gc.freeze`): each batch unpacked makes
thousands of containers that live until it is done, enough to set off a full sweep every few
batches, and a full sweep of the imported libraries cost the staging of a million records 10 s.
"""

import gc
import marshal
import multiprocessing
import pickle
import queue
import traceback

QUEUED_BATCHES = 8  # messages in flight before `put` waits
WAIT_S = 1  # how often a wait checks that the second process is still there


def packed(batch) -> bytes:
    """A batch as bytes: marshal where it can (built-in types only, and the fastest), else pickle."""
    try:
        return b"m" + marshal.dumps(batch)
    except ValueError:
        return b"p" + pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def unpacked(message: bytes):
    return (marshal.loads if message[:1] == b"m" else pickle.loads)(memoryview(message)[1:])


def received(inbox):
    """The next message from the first process, waiting for it; SystemExit once the first process
    is gone (no message will come)."""
    while True:
        try:
            return inbox.get(timeout=WAIT_S)
        except queue.Empty:
            if not multiprocessing.parent_process().is_alive():
                raise SystemExit("the first process ended without sending the end") from None


def _run(work, arguments: tuple, inbox, outbox) -> None:
    gc.freeze()
    try:
        work(*arguments, inbox, outbox)
    except BaseException:  # handed to the first process, which raises it at its next wait
        outbox.put(("failed", traceback.format_exc()))
        raise


class SecondProcess:
    """Runs `work(*arguments, inbox, outbox)` in a spawned process named `name`; errors call it
    `called` ("the staging process") and its work `doing` ("staging the run's records")."""

    def __init__(self, work, arguments: tuple, name: str, called: str, doing: str):
        context = multiprocessing.get_context("spawn")
        self.called, self.doing = called, doing
        self.inbox = context.Queue(maxsize=QUEUED_BATCHES)
        self.outbox = context.Queue()
        self.process = context.Process(target=_run, args=(work, arguments, self.inbox, self.outbox),
                                       name=name, daemon=True)
        self.process.start()

    def put(self, message: bytes | None) -> None:
        """Send a message (None: no more), waiting while the queue is full."""
        while True:
            try:
                return self.inbox.put(message, timeout=WAIT_S)
            except queue.Full:
                self._check()

    def ready(self):
        """The answers already there, without waiting."""
        while not self.outbox.empty():
            yield self._answer(self.outbox.get())

    def wait(self):
        """The next answer, waiting for it."""
        while True:
            try:
                return self._answer(self.outbox.get(timeout=WAIT_S))
            except queue.Empty:
                self._check()

    def join(self) -> None:
        self.process.join()

    def result(self) -> tuple:
        """The next answer, the last, once the second process has ended."""
        answer = self.wait()
        self.process.join()
        return answer

    def stop(self) -> None:
        """End the second process at once (the first is giving up), leaving unsent messages unsent."""
        self.inbox.cancel_join_thread()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()

    def _answer(self, answer: tuple) -> tuple:
        if answer[0] == "failed":
            raise RuntimeError(f"{self.doing} failed in {self.called}:\n{answer[1]}")
        return answer

    def _check(self) -> None:
        if not self.process.is_alive():
            self.inbox.cancel_join_thread()  # nobody will read what is still unsent
            list(self.ready())  # a failure it reported is raised with its traceback
            raise RuntimeError(f"{self.called} ended (exit code {self.process.exitcode}) before "
                               f"{self.doing} was done")
