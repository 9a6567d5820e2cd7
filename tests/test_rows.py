"""The rows a build writes: a document row left unsent because it would change nothing leaves the
documents table as upserting every row would; the rows' process writes the run log only while no
rows wait."""

import queue
import random
import sqlite3

import pytest

from pipelines import rows
from pipelines.rows import DOCUMENT_COLUMNS, FIRST_SEEN_AT, LAST_SEEN_AT, UPSERT_DOCUMENT, Lately, _next
from pipelines.schema import TYPES

DAYS = (None, "2026-01-01", "2026-01-02", "2026-02-01")


def documents_table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    columns = ", ".join(f"[{c}]" for c in TYPES["documents"] if c != "id")
    conn.execute(f"create table documents (id text primary key, {columns})")
    return conn


def synthetic_row(rng: random.Random) -> tuple:
    """A mention of one of a few documents, each column often unknown (synthetic values)."""
    values = [rng.choice((None, None, f"{column} {rng.randrange(3)}")) for column in DOCUMENT_COLUMNS]
    values[0] = f"doc-example-{rng.randrange(7)}"
    values[DOCUMENT_COLUMNS.index("source")] = "example"
    values[FIRST_SEEN_AT], values[LAST_SEEN_AT] = rng.choice(DAYS), rng.choice(DAYS)
    return tuple(values)


def upserted(rows_: list[tuple]) -> list[tuple]:
    conn = documents_table()
    conn.executemany(UPSERT_DOCUMENT, rows_)
    return conn.execute("select * from documents order by id").fetchall()


@pytest.mark.parametrize("remembered, most_sent", [(3, 0.99), (50, 0.5)])
def test_the_rows_left_unsent_change_nothing(monkeypatch, remembered, most_sent):
    monkeypatch.setattr(rows, "LATELY_DOCUMENTS", remembered)  # 3: documents are forgotten and sent again
    rng = random.Random(remembered)
    every = [synthetic_row(rng) for _ in range(3000)]
    lately = Lately()
    sent = [row for row in every if lately.new(row)]
    assert upserted(sent) == upserted(every)
    assert len(sent) < most_sent * len(every)


def test_a_row_that_fills_a_column_or_widens_a_date_is_sent():
    base = ["doc-example"] + [None] * (len(DOCUMENT_COLUMNS) - 1)
    base[FIRST_SEEN_AT] = base[LAST_SEEN_AT] = "2026-01-02"
    title = DOCUMENT_COLUMNS.index("title")
    lately = Lately()
    assert lately.new(tuple(base))
    assert not lately.new(tuple(base))
    for at, value in ((title, "A title"), (FIRST_SEEN_AT, "2026-01-01"), (LAST_SEEN_AT, "2026-01-03")):
        changed = list(base)
        changed[at] = value
        assert lately.new(tuple(changed)), DOCUMENT_COLUMNS[at]
        assert not lately.new(tuple(changed))
    later = list(base)
    later[title] = "Another title"  # the first title stays
    assert not lately.new(tuple(later))


class Inbox:
    """Batches already waiting (`ready`), then one that comes only when waited for."""

    def __init__(self, ready: list[str]):
        self.ready = list(ready)

    def get_nowait(self) -> str:
        if not self.ready:
            raise queue.Empty
        return self.ready.pop(0)

    def get(self, timeout: float) -> str:
        return "waited for"


def test_the_run_log_is_written_while_no_rows_wait():
    written = []

    def run_log():
        for batch in ("runs", "changes 1", "changes 2"):
            written.append(batch)
            yield 1

    inbox, meanwhile = Inbox(["rows 1", "rows 2"]), run_log()
    assert [_next(inbox, meanwhile), _next(inbox, meanwhile)] == ["rows 1", "rows 2"]
    assert written == []
    assert _next(inbox, meanwhile) == "waited for"
    assert written == ["runs", "changes 1", "changes 2"]
    inbox.ready.append("rows 3")
    assert _next(inbox, meanwhile) == "rows 3"
