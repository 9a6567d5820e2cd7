"""The delta build writes only a night's edits, and gives the database a full build gives.

Build N from the repository's text; edit a few records the way a night does without touching what
other rows depend on (a summary reworded, a document's title, a row seen again later, one of them
merged into a curated row), append a run to the run log; then build N+1 in full, and with the
delta build from a copy of N and its state, and compare every table, view and full-text index. A
night that changes more (a new row, a changed vendor, a new day while ids are unregistered, most
records changed) is refused with its reason and built whole instead."""

import asyncio
import gc
import json
import logging
import re
import shutil
import sqlite3
from collections import Counter

import pytest
import sqlite_utils
from conftest import REPO
from datasette.app import Datasette
from test_incremental_build import contents, edit_snapshot

from pipelines.build import build
from pipelines.schema import count_evidence, move_counts
from pipelines.spare import claim, hold_shared, spare_path
from pipelines.state import state_path
from pipelines.stream import line_digest

DATA = REPO / "data"
FIRST, SECOND = "2026-11-21T00:00:00Z", "2026-12-01T00:00:00Z"
EDITED_SUMMARY = "Synthetic edit: reworded overnight, zanzibarish."


def groups_of(state_file) -> dict[str, str]:
    """Each merged record of a snapshot → the row it was merged into."""
    with sqlite3.connect(state_file) as conn:
        return dict(conn.execute("select member_id, merged_id from groups join records on id = member_id "
                                 "where number >= 0"))


def edit_night(root, merged_member: str) -> None:
    """A night of edits that keep every record's shape."""

    def atlas(records):
        single = next(r for r in records if r["documents"])
        single["summary"] = EDITED_SUMMARY
        single["documents"][0]["title"] = "Synthetic retitled report"
        for later in records:  # a later record citing the same document gives another title, which loses
            for document in later["documents"] if later is not single else ():
                if document["id"] == single["documents"][0]["id"]:
                    document["title"] = "Synthetic later title"
        return records

    def aiid(records):
        member = next(r for r in records if r["id"] == merged_member)
        member["last_seen"] = "2026-12-01"
        member["summary"] = EDITED_SUMMARY
        return records

    edit_snapshot(root / "items" / "atlas.jsonl", atlas)
    edit_snapshot(root / "items" / "aiid.jsonl", aiid)
    run = {"run": "atlas-20261201T000000Z", "spider": "atlas", "started": "2026-12-01T00:00:00Z",
           "finished": "2026-12-01T00:01:00Z", "status": "ok", "mode": "full", "items": 15}
    with (root / "runs" / "atlas.jsonl").open("a") as log:
        log.write(json.dumps(run) + "\n")
    with (root / "runs" / "atlas.changes.jsonl").open("a") as log:
        log.write(json.dumps({"run": run["run"], "id": "dep-atlas-example", "table": "deployments",
                              "change": "changed", "diff": {"summary": ["before", "after"]}}) + "\n")


def cite_twice(records):
    """Two Atlas rows citing one document (each its own copy of it)."""
    first, second = [r for r in records if r["documents"]][:2]
    second["documents"].append(dict(first["documents"][0]))
    return records


def first_night(root, register: bool = False, prepare=None) -> dict:
    shutil.copytree(DATA / "items", root / "items")
    if prepare:
        edit_snapshot(root / "items" / "atlas.jsonl", prepare)
    shutil.copytree(DATA / "runs", root / "runs")
    shutil.copytree(DATA / "curated", root / "curated")
    common = dict(items_dir=root / "items", curated_dir=root / "curated",
                  published_file=root / "published.txt", aliases_file=DATA / "aliases.csv",
                  decisions_file=DATA / "decisions.csv",
                  tombstones_file=DATA / "tombstones.yml", redactions_file=None, register=register)
    (root / "n").mkdir()
    build(root / "n" / "evidence.db", built_at=FIRST, **common)
    return common


def copy_last(root, name: str):
    target = root / name / "evidence.db"
    target.parent.mkdir()
    shutil.copy(root / "n" / "evidence.db", target)
    shutil.copy(root / "n" / "evidence.db.state", target.with_name("evidence.db.state"))
    return target


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("delta")
    common = first_night(root, prepare=cite_twice)
    member = next(iter(groups_of(root / "n" / "evidence.db.state")))
    edit_night(root, member)
    (root / "full").mkdir()
    build(root / "full" / "evidence.db", built_at=FIRST, **common)
    return root, common, member


def test_the_delta_build_equals_the_full_build(nights, caplog):
    root, common, member = nights
    target = copy_last(root, "delta")
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert f"delta build on {target}: 3 changed records" in caplog.text
    full, delta = contents(root / "full" / "evidence.db"), contents(target)
    assert full.keys() == delta.keys()
    for name in full:
        assert delta[name] == full[name], name
    merged_into = groups_of(root / "n" / "evidence.db.state")[member]
    assert any(row[0] == merged_into for row in full["wrongful_arrests"])
    with sqlite3.connect(target) as conn:
        found = conn.execute("select summary from deployments_fts where deployments_fts match 'zanzibarish'")
        assert found.fetchall() == [(EDITED_SUMMARY,)]
        titles = conn.execute("select title from documents where title like 'Synthetic%'").fetchall()
        assert titles == [("Synthetic retitled report",)]  # the first record citing it gives the title
    assert ("atlas-20261201T000000Z", "dep-atlas-example") in [row[:2] for row in delta["changes"]]


def delta_log(caplog) -> str:
    [line] = [r.getMessage() for r in caplog.records if "only seen again, rows written" in r.getMessage()]
    return line


def test_the_next_delta_build_writes_into_the_spare_in_place(nights, caplog):
    root, common, _ = nights
    target = copy_last(root, "again")
    spare = spare_path(target)
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert delta_log(caplog).endswith("into a copy of the last database")  # the first has no spare
    assert contents(spare) == contents(root / "n" / "evidence.db")  # the database it replaced
    assert state_path(spare).read_bytes() == (root / "n" / "evidence.db.state").read_bytes()
    last, one_back = target.stat().st_ino, spare.stat().st_ino
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    # the spare, one build back, gets the night's 3 changed records and becomes the last database
    assert delta_log(caplog) == (f"delta build on {target}: 3 changed records, 0 only seen again, rows "
                                 "written: {'wrongful_arrests': 1, 'deployments': 1, 'documents': 4}, "
                                 "into the spare, the database one build back")
    assert (target.stat().st_ino, spare.stat().st_ino) == (one_back, last)
    assert contents(target) == contents(root / "full" / "evidence.db")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert delta_log(caplog) == (f"delta build on {target}: 0 changed records, 0 only seen again, rows "
                                 "written: {}, into the spare, the database one build back")
    assert contents(target) == contents(spare) == contents(root / "full" / "evidence.db")
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "evidence.db", "evidence.db.spare", "evidence.db.spare.state", "evidence.db.state"]


def test_a_spare_a_server_holds_is_never_written(nights, caplog):
    root, common, _ = nights
    target = copy_last(root, "served")
    build(target, built_at=FIRST, incremental=True, **common)
    server = hold_shared(spare_path(target))  # as plugins/speed.py holds each database it serves
    before = server.read()
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert f"the spare of {target} is in use or has no state: the last database is copied" in caplog.text
    assert delta_log(caplog).endswith("0 changed records, 0 only seen again, rows written: {}, into a "
                                      "copy of the last database")
    server.seek(0)
    assert server.read() == before
    server.close()
    assert contents(target) == contents(root / "full" / "evidence.db")


def test_a_server_of_the_database_holds_it(nights):
    root, _, _ = nights
    path = copy_last(root, "server")

    async def started():
        datasette = Datasette(immutables=[str(path)], plugins_dir=str(REPO / "plugins"))
        await datasette.invoke_startup()
        return datasette

    datasette = asyncio.run(started())
    assert claim(path) is None
    del datasette
    gc.collect()
    held = claim(path)
    assert held is not None
    held.close()


def test_a_delta_build_that_stops_in_the_spare_leaves_no_spare_to_use(nights, caplog, monkeypatch):
    root, common, _ = nights
    target = copy_last(root, "stopped")
    build(target, built_at=FIRST, incremental=True, **common)
    last = target.read_bytes()

    def full_disk(*args):
        raise OSError("no space left on device")

    with monkeypatch.context() as patched:
        patched.setattr("pipelines.build.evaluate_claims", full_disk)
        with pytest.raises(OSError, match="no space left"):
            build(target, built_at=FIRST, incremental=True, **common)
    assert target.read_bytes() == last
    assert sorted(p.name for p in target.parent.iterdir()) == ["evidence.db", "evidence.db.state"]
    # a build killed while writing the spare leaves it without its state, which it had taken away
    spare_path(target).write_bytes(b"half written")
    killed = target.with_name("evidence.db.spare.state.taken")
    killed.write_bytes(b"the spare's state, taken away")
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert delta_log(caplog).endswith("into a copy of the last database")
    assert contents(target) == contents(root / "full" / "evidence.db")
    assert not killed.exists()
    assert contents(spare_path(target)) == contents(root / "full" / "evidence.db")  # the one replaced


def test_a_file_system_without_hard_links_keeps_no_spare(nights, monkeypatch):
    root, common, _ = nights
    target = copy_last(root, "unlinked")

    def no_links(*args):
        raise PermissionError("hard links are not allowed here")

    monkeypatch.setattr("pipelines.spare.os.link", no_links)
    build(target, built_at=FIRST, incremental=True, **common)
    assert sorted(p.name for p in target.parent.iterdir()) == ["evidence.db", "evidence.db.state"]
    assert contents(target) == contents(root / "full" / "evidence.db")


def test_a_spare_whose_state_cannot_be_read_is_left_for_a_copy(nights, caplog):
    root, common, _ = nights
    target = copy_last(root, "unread")
    build(target, built_at=FIRST, incremental=True, **common)
    state_path(spare_path(target)).write_bytes(b"not a database, cut short by a full disk")
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert (f"delta build on {target} into its spare refused: the state beside the database cannot be "
            "read") in caplog.text
    assert delta_log(caplog).endswith("into a copy of the last database")
    assert contents(target) == contents(root / "full" / "evidence.db")


def test_a_new_day_is_a_delta_once_every_id_is_registered(tmp_path, caplog):
    common = first_night(tmp_path, register=True)
    edit_night(tmp_path, next(iter(groups_of(tmp_path / "n" / "evidence.db.state"))))
    registry = (tmp_path / "published.txt").read_text()
    (tmp_path / "full").mkdir()
    build(tmp_path / "full" / "evidence.db", built_at=SECOND, **common)
    target = copy_last(tmp_path, "delta")
    (tmp_path / "published.txt").write_text(registry)
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=SECOND, incremental=True, **common)
    assert f"delta build on {target}: 2 changed records" in caplog.text
    assert contents(target) == contents(tmp_path / "full" / "evidence.db")
    assert (tmp_path / "published.txt").read_text() == registry


def refused_because(root, common, caplog, built_at=FIRST) -> str:
    target = copy_last(root, "refused")
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=built_at, incremental=True, **common)
    [line] = [r.getMessage() for r in caplog.records if "delta build on" in r.getMessage()]
    assert line.endswith("; the database is built whole instead")
    assert "build: captures and indexes" in caplog.text
    (root / "full").mkdir()
    build(root / "full" / "evidence.db", built_at=built_at, **{**common, "register": False})
    assert contents(target) == contents(root / "full" / "evidence.db")
    return line


def test_a_new_row_is_built_whole(tmp_path, caplog):
    common = first_night(tmp_path)
    edit_snapshot(tmp_path / "items" / "atlas.jsonl", lambda records: [
        *records, dict(records[0], id="dep-atlas-aos9999", source_id="AOS9999")])
    assert "refused: atlas.jsonl has more records than before" in refused_because(tmp_path, common, caplog)


def test_a_changed_vendor_is_built_whole(tmp_path, caplog):
    common = first_night(tmp_path)

    def vendor(records):
        records[1]["vendors"] = [*records[1].get("vendors", []), "Example Vendor"]
        return records

    edit_snapshot(tmp_path / "items" / "atlas.jsonl", vendor)
    assert "changed what other rows depend on" in refused_because(tmp_path, common, caplog)


def test_a_new_day_with_unregistered_ids_is_built_whole(tmp_path, caplog):
    common = first_night(tmp_path)
    assert "refused: the day changed" in refused_because(tmp_path, common, caplog, built_at=SECOND)


def test_a_state_of_another_build_is_not_used(tmp_path, caplog):
    common = first_night(tmp_path)
    (tmp_path / "other").mkdir()
    build(tmp_path / "other" / "evidence.db", built_at=FIRST, **{**common, "curated_dir": DATA / "curated",
                                                                    "tombstones_file": None})
    shutil.copy(tmp_path / "other" / "evidence.db.state", tmp_path / "n" / "evidence.db.state")
    assert "written by another build" in refused_because(tmp_path, common, caplog)


def test_a_night_that_changed_most_records_is_built_whole(tmp_path, caplog, monkeypatch):
    common = first_night(tmp_path)
    # every snapshot record changes below, but the curated records (unchanged) are most of the
    # fixture's: the share is lowered to one the snapshots' records exceed
    monkeypatch.setattr("pipelines.delta.MOST_CHANGED", 0.1)

    def reword(records):
        for record in records:
            record["summary"] = EDITED_SUMMARY
        return records

    edit_snapshot(tmp_path / "items" / "atlas.jsonl", reword)
    edit_snapshot(tmp_path / "items" / "aiid.jsonl", reword)
    line = refused_because(tmp_path, common, caplog)
    assert line.endswith("refused: more than 10% of the records changed; the database is built whole instead")


def seen_again_on(day: str):
    """What a crawl on `day` does to a snapshot's records it saw again: their last_seen is the day."""
    def crawl(records):
        for record in records:
            if record.get("listed", True):
                record["last_seen"] = day
        return records
    return crawl


def test_a_crawl_that_saw_every_record_again_is_written_in_bulk(tmp_path, caplog):
    common = first_night(tmp_path, prepare=cite_twice)
    edit_night(tmp_path, next(iter(groups_of(tmp_path / "n" / "evidence.db.state"))))
    for snapshot in ("atlas.jsonl", "aiid.jsonl"):
        edit_snapshot(tmp_path / "items" / snapshot, seen_again_on("2026-12-02"))
    target = copy_last(tmp_path, "crawl")
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    counted = re.search(r"(\d+) changed records, (\d+) only seen again", delta_log(caplog))
    changed, seen = map(int, counted.groups())
    assert seen >= 10 and changed > 0  # merged records and the edited ones are written one by one
    (tmp_path / "full").mkdir()
    build(tmp_path / "full" / "evidence.db", built_at=FIRST, **common)
    assert contents(target) == contents(tmp_path / "full" / "evidence.db")
    with sqlite3.connect(target) as conn:
        assert conn.execute("select max(last_seen) from documents").fetchone() == ("2026-12-02",)
    with sqlite3.connect(state_path(target)) as conn:  # the state notes every line as it is now
        noted = dict(conn.execute("select id, line from records where number >= 0"))
    assert noted == {json.loads(line)["id"]: line_digest(line) for snapshot in ("aiid.jsonl", "atlas.jsonl")
                     for line in (tmp_path / "items" / snapshot).read_bytes().splitlines(keepends=True)}
    # the next night's crawl, written into the spare: the first night's database, two nights back
    for snapshot in ("atlas.jsonl", "aiid.jsonl"):
        edit_snapshot(tmp_path / "items" / snapshot, seen_again_on("2026-12-03"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert f" {changed} changed records, {seen} only seen again, " in delta_log(caplog)  # since night one
    assert delta_log(caplog).endswith("into the spare, the database one build back")
    build(tmp_path / "full" / "evidence.db", built_at=FIRST, **common)
    assert contents(target) == contents(tmp_path / "full" / "evidence.db")


def test_a_last_seen_that_went_back_is_built_whole(tmp_path, caplog):
    common = first_night(tmp_path)

    def earlier(records):
        records[0]["last_seen"] = "2020-01-01"  # an older capture put back
        return records

    edit_snapshot(tmp_path / "items" / "atlas.jsonl", earlier)
    assert "last_seen went back (from " in refused_because(tmp_path, common, caplog)


def test_a_state_that_cannot_be_read_is_not_used(tmp_path, caplog):
    common = first_night(tmp_path)
    (tmp_path / "n" / "evidence.db.state").write_bytes(b"not a database, cut short by a full disk")
    assert "the state beside the database cannot be read" in refused_because(tmp_path, common, caplog)


def test_a_run_log_changed_otherwise_than_appended_is_loaded_again(tmp_path, caplog):
    common = first_night(tmp_path)
    changes = tmp_path / "runs" / "aiid.changes.jsonl"
    kept = changes.read_text().splitlines(keepends=True)[1:]  # a maintainer pruned the oldest change
    changes.write_text("".join(kept))
    target = copy_last(tmp_path, "delta")
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=FIRST, incremental=True, **common)
    assert f"delta build on {target}: 0 changed records" in caplog.text
    (tmp_path / "full").mkdir()
    build(tmp_path / "full" / "evidence.db", built_at=FIRST, **common)
    delta = contents(target)
    assert delta == contents(tmp_path / "full" / "evidence.db")
    assert len(delta["changes"]) == len(contents(tmp_path / "n" / "evidence.db")["changes"]) - 1


def test_moved_counts_are_the_counts_made_again(nights, tmp_path):
    """evidence_counts moved by the rows a night changed (a year, a country, a date gone) is what
    counting every row again gives: rows that join a new group add it, a group left empty goes."""
    root, _, _ = nights
    shutil.copy(root / "n" / "evidence.db", tmp_path / "evidence.db")
    db = sqlite_utils.Database(tmp_path / "evidence.db")
    rows = db.execute("select id, date, country from deployments where date is not null "
                      "and country is not null order by id limit 3").fetchall()
    assert len(rows) == 3
    moves = Counter()
    edits = [lambda date, country: ("1901-05-01", "AQ"), lambda date, country: (None, country),
             lambda date, country: (date, None)]
    for (row_id, date, country), edit in zip(rows, edits, strict=True):
        new_date, new_country = edit(date, country)
        db.execute("update deployments set date = ?, country = ? where id = ?",
                   [new_date, new_country, row_id])
        moves[(date[:4], "deployment", country)] -= 1
        moves[(new_date and new_date[:4], "deployment", new_country)] += 1
    move_counts(db, moves)
    moved = db.execute("select * from evidence_counts order by 1, 2, 3").fetchall()
    db.execute("delete from evidence_counts")
    count_evidence(db)
    assert moved == db.execute("select * from evidence_counts order by 1, 2, 3").fetchall()
    assert ("1901", "deployment", "AQ", 1) in moved
