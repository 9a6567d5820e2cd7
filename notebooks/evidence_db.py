"""What the notebooks in this folder share: the database they read, the release it is, the source
line under every figure, counts with the ids of the rows counted, and tables whose ids link to the
rows' pages on the site.

The database is FRT_DB (default data/evidence.db; a relative path is read from the repository's
root), opened read-only. A row's page is /evidence/<table>/<id>, as the site serves it; set
FRT_SITE (for example http://127.0.0.1:8001) for links that work outside the site, in Jupyter.
"""

import html
import io
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import matplotlib.pyplot as plt
import pandas as pd
from datasette.utils import tilde_encode
from IPython.display import Image, display
from matplotlib.ticker import MaxNLocator

from pipelines.clean.places import country_name

REPO = Path(__file__).resolve().parent.parent
DATABASE = "evidence"  # the database's name in the site's URLs
# The two letters the claims come from (shared/seeds/README.md): a short name, and when each was
# made, as precisely as the letter says it (the Tirana declaration gives only the month).
LETTERS = {
    "000_8dfaa72fd5edc1fc.txt": ("Tirana declaration", "2019-10"),
    "004_9c036eea26bdae9f.txt": ("Reclaim Your Face letter", "2022-05-10"),
}


def database_path() -> Path:
    path = Path(os.environ.get("FRT_DB", "data/evidence.db"))
    return path if path.is_absolute() else REPO / path


def connect() -> sqlite3.Connection:
    """The evidence database, read-only; a clear error where there is none."""
    path = database_path()
    if not path.is_file():
        raise FileNotFoundError(f"no database at {path}: run `make build` (or `make demo-build`), "
                                "or point FRT_DB at one")
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def query(db: sqlite3.Connection, sql: str, params: tuple = ()) -> pd.DataFrame:
    return pd.read_sql_query(sql, db, params=params)


def release(db: sqlite3.Connection) -> str:
    """The release the database is: its build time, from the build table."""
    row = db.execute("select value from build where key = 'built_at'").fetchone()
    return row[0] if row else "of unknown date"


def has_table(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("select 1 from sqlite_master where type in ('table', 'view') and name = ?",
                      (table,)).fetchone() is not None


def has_column(db: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in db.execute(f"pragma table_info([{table}])"))


def country_label(code: str | None) -> str:
    """A country's common name from its ISO code; "not recorded" for none."""
    return country_name(code) if isinstance(code, str) and code else "not recorded"


def named(db: sqlite3.Connection, table: str, role: str) -> pd.DataFrame:
    """Each event of table with the organisations named in a role (operator, vendor, agency):
    one line per event and organisation, name and kind; an event naming none has one line of
    None."""
    return query(db, f"select e.id, o.name, o.kind from [{table}] e left join event_organisations eo "
                     "on eo.event_id = e.id and eo.role = ? left join organisations o "
                     "on o.id = eo.organisation_id order by e.id, o.name", (role,))


def period(date: str | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last day a date of the evidence base may stand for: a whole year for "2019",
    a month for "2019-02", one day for "2019-02-03", from the first of a range's ends to the last
    of the other ("2019/2020"); None for no date."""
    if not date:
        return None
    ends = date.split("/")
    first, last = (pd.Period(end, freq={4: "Y", 7: "M"}.get(len(end), "D")) for end in (ends[0], ends[-1]))
    return first.start_time.normalize(), last.end_time.normalize()


def period_start(dates: pd.Series) -> pd.Series:
    """Each date as the first day it may stand for (see period), for a time axis."""
    return pd.to_datetime(dates.map(lambda date: (period(date) or (None,))[0]))


def timing(date: str | None, letter_date: str) -> str:
    """"before" or "after" the letter where the two dates' periods do not overlap, else
    "same period" (an event dated only 2019, before or after October 2019), or "undated"."""
    event, letter = period(date), period(letter_date)
    if event is None:
        return "undated"
    if event[1] < letter[0]:
        return "before"
    if event[0] > letter[1]:
        return "after"
    return "same period"


def set_in_list(values: pd.Series) -> pd.Series:
    """A column of "A; B" lists (vendors, agencies) as one value a row, blanks as "not recorded"."""
    return values.fillna("").str.split(";").map(
        lambda parts: [part.strip() for part in parts if part.strip()] or ["not recorded"])


@dataclass(frozen=True)
class Link:
    text: str
    url: str


def site_url(path: str) -> str:
    return os.environ.get("FRT_SITE", "").rstrip("/") + path


def row_link(table: str, row_id: str) -> Link:
    """The row's page, as the site addresses it (Datasette's tilde encoding of the id)."""
    return Link(row_id, site_url(f"/{DATABASE}/{table}/{tilde_encode(row_id)}"))


def table_link(text: str, table: str, **filters: str) -> Link:
    """A table's page with Datasette filters, for counts of more rows than a cell can list."""
    return Link(text, site_url(f"/{DATABASE}/{table}?{urlencode(filters)}"))


def with_links(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The frame with its id column as links to the rows' pages."""
    return frame.assign(id=[row_link(table, row_id) for row_id in frame["id"]])


def tally(frame: pd.DataFrame, by: str | list[str], table: str | None = None) -> pd.DataFrame:
    """Rows per value of `by` (a column or several), most first, with the ids counted as links to
    their pages. The rows' table is `table`, or each row's own event_table column."""
    keys = [by] if isinstance(by, str) else list(by)
    rows = []
    for values, group in frame.groupby(keys, sort=False, dropna=False):
        tables = [table] * len(group) if table else list(group["event_table"])
        ids = sorted(set(zip(tables, group["id"], strict=True)), key=lambda pair: pair[1])
        row = {key: "not recorded" if pd.isna(value) else value
               for key, value in zip(keys, values, strict=True)}
        rows.append({**row, "rows": len(ids), "ids": [row_link(*pair) for pair in ids]})
    return pd.DataFrame(rows, columns=[*keys, "rows", "ids"]).sort_values(
        ["rows", *keys], ascending=[False, *[True] * len(keys)], ignore_index=True)


def _cell(value) -> str:
    if isinstance(value, Link):
        return f'<a href="{html.escape(value.url)}">{html.escape(value.text)}</a>'
    if isinstance(value, list | tuple):
        return ", ".join(_cell(item) for item in value)
    if pd.isna(value):
        return ""
    return html.escape(str(value))


def show(frame: pd.DataFrame):
    """A table for the notebook: links as links, every other value escaped, no index."""
    return frame.style.format(_cell).hide(axis="index")


def count_bars(ax, counts: pd.Series, title: str, xlabel: str, ylabel: str, fmt: str = "{:g}") -> None:
    """Horizontal bars of counts, the largest on top, each labelled with its number (as fmt)."""
    counts = counts.sort_values()
    bars = ax.barh([str(label) for label in counts.index], counts.to_numpy(), color="#4c72b0")
    ax.bar_label(bars, padding=2, fmt=fmt)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.12)


def mark_letters(ax) -> None:
    """A vertical line at each letter's date (the first day of its month for Tirana), named."""
    for name, date in LETTERS.values():
        day = period(date)[0]
        ax.axvline(day, color="#c44e52", linewidth=1)
        ax.annotate(f" {name}", (day, 1), xycoords=("data", "axes fraction"), color="#c44e52",
                    fontsize=8, rotation=90, va="top", ha="right")


def finish(fig, drawn_from: str) -> None:
    """Lay the figure out, put the source line with the release it was drawn from under it, and
    show it as a PNG whose alternative text is its titles and that line."""
    source = f"Source: FRT Evidence, release {drawn_from}"
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.text(0.01, 0.005, source, fontsize=8, color="0.35", ha="left", va="bottom")
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    display(Image(image.getvalue(), format="png", metadata={"alt": ". ".join([*titles, source])}))
