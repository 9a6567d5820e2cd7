"""What every page of the site gets: the project's stylesheet, the database release for the footer,
the labels of the three kinds of evidence, and the `web_url` template filter.

Datasette loads this file with `--plugins-dir plugins`; the stylesheet is static/site.css, served
at /assets/ with `--static assets:static`, its address carrying a hash of its bytes so that a
browser fetches it again when it changes.
"""

import hashlib
from pathlib import Path

from datasette import hookimpl

DATABASE = "evidence"
STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "site.css"
KIND_LABELS = {"deployment": "Deployment", "wrongful_arrest": "Wrongful arrest",
               "legal_action": "Legal action", "declaration": "Declaration or open letter"}


async def release(datasette) -> str | None:
    """The build time of the database served (table build, key built_at)."""
    db = datasette.get_database(DATABASE)
    if "build" not in await db.table_names():
        return None
    return (await db.execute("select max(value) from build where key = 'built_at'")).single_value()


def web_url(value):
    """The value if it is an http(s) URL, else None: only web links become href attributes."""
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["web_url"] = web_url


@hookimpl
def extra_css_urls(datasette):
    version = hashlib.sha256(STYLESHEET.read_bytes()).hexdigest()[:10]
    return [datasette.urls.path(f"/assets/site.css?v={version}")]


@hookimpl
def extra_template_vars(datasette):
    async def variables():
        return {"release": await release(datasette), "kind_labels": KIND_LABELS}
    return variables
