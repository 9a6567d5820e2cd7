"""Stock Datasette, the site benchmark's baseline: the installed Datasette without any plugin.

Plugins installed from PyPI register themselves through entry points and would load in any
Datasette started from the project's virtual environment; this launcher turns that loading off,
so only Datasette's own built-in modules run. Use it as the `datasette` command:
`python -m bench.stock serve -i data/evidence.db --port 8002`.
"""

import pluggy


def _no_entry_points(self, group, name=None) -> int:
    return 0


pluggy.PluginManager.load_setuptools_entrypoints = _no_entry_points

from datasette.cli import cli  # noqa: E402  (must import after entry points are turned off)

if __name__ == "__main__":
    cli()
