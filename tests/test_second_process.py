"""pipelines/second_process.py: batches reach the second process in order, its answers come back,
and a failure or death there is an error here, never a hang."""

import datetime
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.second_process import SecondProcess, packed, received, unpacked

REPO = Path(__file__).resolve().parent.parent


def _sum_batches(inbox, outbox) -> None:
    total = 0
    while (message := inbox.get()) is not None:
        total += sum(unpacked(message))
        outbox.put(("subtotal", total))
    outbox.put(("total", total))


def _fail_on_third(inbox, outbox) -> None:
    for _ in range(3):
        inbox.get()
    raise ValueError("Example failure on the third batch")


def _wait_forever(inbox, outbox) -> None:
    while True:
        inbox.get()


def _wait_for_the_end(inbox, outbox) -> None:
    while received(inbox) is not None:
        pass


def start_one_and_sleep() -> None:
    """A first process that starts a second one, tells its process id and sleeps (to be killed)."""
    process = SecondProcess(_wait_for_the_end, (), name="frt-test", called="the test process",
                            doing="waiting")
    print(process.process.pid, flush=True)
    time.sleep(60)


def _running(pid: int) -> bool:
    """Whether the process runs (an ended one may stay a zombie until its new parent reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_second_process_ends_when_the_first_is_killed():
    starting = "from tests.test_second_process import start_one_and_sleep; start_one_and_sleep()"
    first = subprocess.Popen([sys.executable, "-c", starting], cwd=REPO, stdout=subprocess.PIPE, text=True)
    second = int(first.stdout.readline())
    assert _running(second)
    first.kill()  # as a night's timeout kills a crawl: no clean-up runs in the first process
    first.wait()
    waited = time.monotonic()
    while _running(second) and time.monotonic() - waited < 10:
        time.sleep(0.1)
    assert not _running(second)


def test_batches_are_worked_in_order_and_every_answer_comes_back():
    process = SecondProcess(_sum_batches, (), name="frt-test", called="the test process", doing="adding")
    for batch in ([1, 2], [3], [4, 5, 6]):
        process.put(packed(batch))
    process.put(None)
    answers = [process.wait() for _ in range(3)]
    assert answers == [("subtotal", 3), ("subtotal", 6), ("subtotal", 21)]
    assert process.result() == ("total", 21)
    assert process.process.exitcode == 0


def test_a_failure_there_is_raised_here_with_its_traceback():
    process = SecondProcess(_fail_on_third, (), name="frt-test", called="the test process", doing="adding")
    with pytest.raises(RuntimeError) as raised:
        for number in range(100):  # more than the queue holds: a put notices the failure
            process.put(packed([number]))
        process.result()
    message = str(raised.value)
    assert message.startswith("adding failed in the test process:")
    assert "ValueError: Example failure on the third batch" in message and "_fail_on_third" in message


def test_a_second_process_that_dies_is_an_error_at_the_next_wait():
    process = SecondProcess(_wait_forever, (), name="frt-test", called="the test process", doing="waiting")
    process.process.kill()
    ended = r"the test process ended \(exit code -9\) before waiting was done"
    with pytest.raises(RuntimeError, match=ended):
        process.result()


def test_stop_ends_it_at_once_with_messages_unsent():
    process = SecondProcess(_wait_forever, (), name="frt-test", called="the test process", doing="waiting")
    process.put(packed([1]))
    process.stop()
    assert not process.process.is_alive()


def test_packed_batches_come_back_as_they_were():
    plain = {"deployments": [("example-1", None, 1.5, b"\x00")], "citations": []}
    assert packed(plain)[:1] == b"m" and unpacked(packed(plain)) == plain
    dated = [{"first_seen": datetime.date(2026, 1, 1)}]  # not a marshal type: pickled
    assert packed(dated)[:1] == b"p" and unpacked(packed(dated)) == dated
