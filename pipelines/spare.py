"""The database one build back, kept beside the last one as its spare, so that a night's delta build
writes into it in place instead of copying the whole database first.

A build puts its new database in place with `swap`, which keeps the database it replaces, with the
state that database's build left, as data/evidence.db.spare and data/evidence.db.spare.state. The
next delta build (pipelines/delta.py) brings the spare to tonight's snapshots by writing only the
rows of the records changed since the spare's build (in steady state two nights' changes) and swaps
it in, the last database becoming the spare in turn. At a million records this saves copying 2.7 GB
and syncing all of it every night, the larger part of a night's build.

The spare must not be read by anyone while it is written: a Datasette serving a database immutable
(`datasette -i`, `make serve`) reads it without locks and would read a file changing under it. The
project's plugin (plugins/speed.py) holds a shared lock (flock) on each database it serves for as
long as it runs; a build writes into the spare only under an exclusive lock it gets without waiting,
and otherwise copies the last database as before. So a server started before the last build, still
serving what is now the spare, is never written under. A server run without the plugin must be
restarted after each build (until then it serves the old database anyway).

While the spare is written it has no state beside it, so a build that stops half way leaves a spare
no build uses; the next build puts a new spare in its place. A build with redactions keeps no spare:
the old file holds the values redacted.
"""

import fcntl
import os
from pathlib import Path
from typing import BinaryIO

from pipelines.state import state_path


def spare_path(db_path: Path) -> Path:
    return Path(db_path).with_name(Path(db_path).name + ".spare")


def hold_shared(path: Path) -> BinaryIO:
    """An open handle on the database at path with a shared lock on it, held until the handle is
    closed (for a server of the database: no build writes into it meanwhile)."""
    handle = Path(path).open("rb")
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    return handle


def claim(path: Path) -> BinaryIO | None:
    """An open handle on the database at path with an exclusive lock on it, or None if it is missing
    or in use (a process holds a lock on it)."""
    try:
        handle = Path(path).open("rb")
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


class Spare:
    """The spare of the database at db_path, for one delta build: `take` claims it and takes its
    state away (a build that stops half way leaves a spare that no build uses), `give_back` returns
    both untouched, `writing` says it is being written, `swapped` that it is the last database now,
    and `close` lets go of it, removing it if it was left half written."""

    def __init__(self, db_path: Path):
        self.path = spare_path(db_path)
        self.state = state_path(self.path)
        self.taken = self.state.with_name(self.state.name + ".taken")
        self.lock, self.stage = None, None

    def take(self) -> Path | None:
        """The spare's state, under another name while the spare is claimed; None if there is no
        spare with a state, or a process holds it."""
        if self.state.exists():
            self.lock = claim(self.path)
        else:
            self.taken.unlink(missing_ok=True)  # left by a build that was killed while writing the spare
        if self.lock is None:
            return None
        self.state.replace(self.taken)
        self.stage = "taken"
        return self.taken

    def give_back(self) -> None:
        self.taken.replace(self.state)
        self.stage = None
        self.close()

    def writing(self) -> None:
        self.stage = "written"

    def swapped(self) -> None:
        self.stage = "swapped"

    def close(self) -> None:
        if self.stage == "written":
            self.path.unlink(missing_ok=True)
            self.taken.unlink(missing_ok=True)
        elif self.stage == "taken":
            self.taken.replace(self.state)
        self.stage = None
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def swap(new: Path, db_path: Path, keep_spare: bool = True) -> None:
    """Put the database file `new` in place of the database at db_path once it is on disk; the one it
    replaces becomes the spare, with its state, if it has one and `keep_spare`."""
    db_path = Path(db_path)
    with Path(new).open("rb+") as handle:
        os.fsync(handle.fileno())
    spare, spare_state, last_state = spare_path(db_path), state_path(spare_path(db_path)), state_path(db_path)
    spare_state.unlink(missing_ok=True)  # no spare until its database and its state are both in place
    keep = keep_spare and db_path.exists() and last_state.exists()
    kept = [path.with_name(path.name + ".kept") for path in (db_path, last_state)]
    if keep:  # the last database and its state get second names before the first one changes hands
        try:
            for path, second in zip((db_path, last_state), kept, strict=True):
                second.unlink(missing_ok=True)
                os.link(path, second)
        except OSError:  # a file system without hard links: no spare, the delta builds copy
            keep = False
            for second in kept:
                second.unlink(missing_ok=True)
    os.replace(new, db_path)
    if keep:
        os.replace(kept[0], spare)
        os.replace(kept[1], spare_state)
    else:
        spare.unlink(missing_ok=True)
