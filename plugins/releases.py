"""The releases page, /-/releases: every database the site has published, with its SHA-256.

A citation names a release (its build time) and a row's content hash. This page lists the
releases publish/releases.py has kept, newest first, each with the address of its file (served
from /releases/ by `--static releases:<folder>`), its size and its SHA-256, and marks the one the
site serves now. /-/releases.json gives the same list as JSON. The folder is FRT_RELEASES_DIR,
`releases` by default.
"""

import os
from pathlib import Path

from datasette import hookimpl
from datasette.utils.asgi import Response

from publish.releases import SUMS, read_manifest

DATABASE = "evidence"


async def served_release(datasette) -> str | None:
    """The build time of the database the site serves."""
    db = datasette.get_database(DATABASE)
    if "build" not in await db.table_names():
        return None
    return (await db.execute("select max(value) from build where key = 'built_at'")).single_value()


def releases_folder() -> Path:
    return Path(os.environ.get("FRT_RELEASES_DIR", "releases"))


async def releases_page(datasette, request):
    entries = read_manifest(releases_folder())
    if request.url_vars.get("format") == "json":
        return Response.json(entries)
    html = await datasette.render_template(
        "releases.html", {"entries": entries, "served": await served_release(datasette), "sums": SUMS},
        request=request, view_name="releases")
    return Response.html(html)


@hookimpl
def register_routes():
    return [(r"^/-/releases(\.(?P<format>json))?$", releases_page)]
