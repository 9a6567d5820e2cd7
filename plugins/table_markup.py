"""The HTML table of rows on table and row pages, made in Python in one call (templates/_table.html):
Datasette's own markup, or on an event table's page its reader's view.

Datasette's own _table.html spends three template expressions on each cell, slow under Datasette's
async Jinja on a page of many rows and columns. `rows_and_columns` writes the same markup (the same
classes and data- attributes, which Datasette's CSS and JavaScript read; the same sort links) in a
plain loop.

An event table's page (deployments, wrongful arrests, legal actions, declarations) shows by default
only the columns a reader needs (READER_COLUMNS): the title linked to the row's page, the date, what
kind of event, where (names, not codes) and the summary, headed by plain names. `?_columns=all`, or
Datasette's own `?_col=` and `?_nocol=`, show Datasette's table of the columns asked for. Only the
HTML changes: the JSON and CSV of a table always hold every column, and a row keeps its address.
"""

from dataclasses import dataclass

from datasette import hookimpl
from datasette.utils import path_with_removed_args, path_with_replaced_args, tilde_encode, to_css_class
from markupsafe import Markup, escape

from publish.countries import country_label

DATABASE = "evidence"
ALL_COLUMNS = "_columns"  # ?_columns=all: every column, in Datasette's table
# The reader's columns of each event table, in order. A phone shows each row as a card of the title,
# the date, the kind, the place and one line of the summary; the columns in ON_WIDE_SCREENS only
# appear on wider screens.
READER_COLUMNS = {
    "deployments": ("title", "date", "sector", "mode", "operator", "place", "region_en",
                    "country_name", "summary"),
    "wrongful_arrests": ("title", "date", "person", "agency", "place", "region_en", "country_name",
                         "summary"),
    "legal_actions": ("title", "date", "kind", "status", "jurisdiction", "place", "region_en",
                      "country_name", "summary"),
    "declarations": ("title", "date", "kind", "organisers", "signatories", "place", "country",
                     "summary"),
}
ON_WIDE_SCREENS = {"operator", "person", "agency", "jurisdiction", "organisers", "signatories"}
# Not shown, but in the markup: datasette-cluster-map draws the map of a table's rows (under them, in
# #evidence-map) only if the table has these columns.
MAP_COLUMNS = ("latitude", "longitude")
# Columns of a closed vocabulary (pipelines/vocab.py) whose codes read as words: court_ruling.
VOCABULARY_COLUMNS = {"kind", "sector", "mode", "status", "jurisdiction_level", "signatory_kind"}
LABELS = {"country_name": "country", "region_en": "region"}


def header_cell(column: dict, request, sort, sort_desc, fix_path, label: str | None = None,
                extra_class: str = "") -> str:
    name = column["name"]
    label = escape(name if label is None else label)
    described = (f'data-column-description="{escape(column["description"])}" '
                 if column.get("description") else "")
    opening = (f'<th {described}class="col-{escape(to_css_class(name))}{escape(extra_class)}" scope="col" '
               f'data-column="{escape(name)}" data-column-type="{escape(column["type"].lower())}" '
               f'data-column-not-null="{escape(column["notnull"])}" '
               f'data-is-pk="{1 if column["is_pk"] else 0}">')
    if not column["sortable"]:
        return f"{opening}{label}</th>"
    if name == sort:
        args, label = {"_sort_desc": name, "_sort": None, "_next": None}, f"{label}&nbsp;▼"
    else:
        args = {"_sort": name, "_sort_desc": None, "_next": None}
        label = f"{label}{'&nbsp;▲' if name == sort_desc else ''}"
    link = fix_path(path_with_replaced_args(request, args))
    return f'{opening}<a href="{escape(link)}" rel="nofollow">{label}</a></th>'


def rows_and_columns(display_columns, display_rows, request, sort=None, sort_desc=None,
                     fix_path=None) -> Markup:
    """The table of display_rows, or the line saying there are none."""
    if not display_rows:
        return Markup('<p class="zero-results">0 records</p>')
    out = ['<div class="table-wrapper">\n<table class="rows-and-columns">\n<thead>\n<tr>\n']
    out += [header_cell(c, request, sort, sort_desc, fix_path) + "\n" for c in display_columns]
    out.append("</tr>\n</thead>\n<tbody>\n")
    css = {}
    for row in display_rows:
        out.append("<tr>\n")
        for cell in row:
            column = cell["column"]
            if column not in css:
                css[column] = escape(to_css_class(column))
            out.append(f'<td class="col-{css[column]} type-{escape(cell["value_type"])}">'
                       f'{escape(cell["value"])}</td>\n')
        out.append("</tr>\n")
    out.append("</tbody>\n</table>\n</div>")
    return Markup("".join(out))


def column_label(name: str) -> str:
    """A column's name as a reader's heading: country_name → Country."""
    return LABELS.get(name, name).replace("_", " ").capitalize()


@dataclass(frozen=True)
class ReaderView:
    """An event table's page shown with its reader's columns."""

    columns: tuple[str, ...]
    table_path: str  # the table's page, under which each row has its own: <table_path>/<id>

    def cell(self, name: str, raw, row_id) -> Markup:
        if raw in (None, ""):
            return Markup("")
        if name == "title":
            return Markup('<a href="{}/{}">{}</a>').format(self.table_path, tilde_encode(row_id), raw)
        if name == "summary":
            return Markup('<div class="clamp">{}</div>').format(raw)
        if name == "country":
            return escape(country_label(raw))
        if name in VOCABULARY_COLUMNS and isinstance(raw, str):
            return escape(raw.replace("_", " "))
        return escape(raw)

    def rows(self, display_columns, display_rows, request, sort=None, sort_desc=None,
             fix_path=None) -> Markup:
        """The table of display_rows in the reader's columns, or the line saying there are none."""
        if not display_rows:
            return Markup('<p class="zero-results">0 records</p>')
        by_name = {c["name"]: c for c in display_columns}
        shown = [name for name in (*self.columns, *MAP_COLUMNS) if name in by_name]
        extra = {name: " wide-only" if name in ON_WIDE_SCREENS else " map-only" if name in MAP_COLUMNS
                 else "" for name in shown}
        out = ['<div class="table-wrapper">\n<table class="rows-and-columns reader-rows">\n'
               '<thead>\n<tr>\n']
        out += [header_cell(by_name[n], request, sort, sort_desc, fix_path, column_label(n),
                            extra[n]) + "\n" for n in shown]
        out.append("</tr>\n</thead>\n<tbody>\n")
        for row in display_rows:
            cells = {cell["column"]: cell for cell in row}
            row_id = cells["id"]["raw"]
            out.append("<tr>\n")
            for name in shown:
                cell = cells[name]
                out.append(f'<td class="col-{escape(to_css_class(name))} '
                           f'type-{escape(cell["value_type"])}{extra[name]}">'
                           f'{self.cell(name, cell["raw"], row_id)}</td>\n')
            out.append("</tr>\n")
        out.append("</tbody>\n</table>\n</div>")
        return Markup("".join(out))


def column_choice(datasette, table: str, request) -> dict | None:
    """For an event table's page: its reader's view unless the address asks for other columns, and
    the addresses of the page with all its columns and with the reader's."""
    if table not in READER_COLUMNS:
        return None
    chosen = "_col" in request.args or "_nocol" in request.args or request.args.get(ALL_COLUMNS) == "all"
    reader = ReaderView(READER_COLUMNS[table], datasette.urls.table(DATABASE, table))
    return {
        "reader": None if chosen else reader,
        "all_url": datasette.urls.path(path_with_replaced_args(
            request, {ALL_COLUMNS: "all", "_col": None, "_nocol": None})),
        "reader_url": datasette.urls.path(path_with_removed_args(
            request, {ALL_COLUMNS, "_col", "_nocol"})),
        "reader_count": len(READER_COLUMNS[table]),
    }


@hookimpl
def prepare_jinja2_environment(env):
    env.globals["rows_and_columns"] = rows_and_columns


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    if template != "table.html" or database != DATABASE or request is None:
        return {}
    return {"column_choice": column_choice(datasette, table, request)}
