"""The HTML table of rows on table and row pages, made in Python in one call (templates/_table.html).

Datasette's own _table.html spends three template expressions on each cell, slow under Datasette's
async Jinja on a page of many rows and columns. `rows_and_columns` writes the same markup (the same
classes and data- attributes, which Datasette's CSS and JavaScript read; the same sort links) in a
plain loop.
"""

from datasette import hookimpl
from datasette.utils import path_with_replaced_args, to_css_class
from markupsafe import Markup, escape


def header_cell(column: dict, request, sort, sort_desc, fix_path) -> str:
    name = column["name"]
    described = (f'data-column-description="{escape(column["description"])}" '
                 if column.get("description") else "")
    opening = (f'<th {described}class="col-{escape(to_css_class(name))}" scope="col" '
               f'data-column="{escape(name)}" data-column-type="{escape(column["type"].lower())}" '
               f'data-column-not-null="{escape(column["notnull"])}" '
               f'data-is-pk="{1 if column["is_pk"] else 0}">')
    if not column["sortable"]:
        return f"{opening}{escape(name)}</th>"
    if name == sort:
        args, label = {"_sort_desc": name, "_sort": None, "_next": None}, f"{escape(name)}&nbsp;▼"
    else:
        args = {"_sort": name, "_sort_desc": None, "_next": None}
        label = f"{escape(name)}{'&nbsp;▲' if name == sort_desc else ''}"
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


@hookimpl
def prepare_jinja2_environment(env):
    env.globals["rows_and_columns"] = rows_and_columns
