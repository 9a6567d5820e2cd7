"""The analyses on the home page: the notebooks of notebooks/ that `make notebooks` has rendered to
HTML in static/analyses/, linked where the site serves that folder (/assets/analyses/ under
`make serve`). Only the rendered ones are listed, so the home page never links a page that is not
there (a checkout or an image where `make notebooks` has not run lists none).
"""

from pathlib import Path

from datasette import hookimpl

FOLDER = "analyses"
# Each notebook (its file name without .ipynb) with its title and what it shows, in reading order.
ANALYSES = {
    "wrongful_arrests": ("Wrongful arrests", "a timeline; agencies, vendors and countries; days in "
                         "custody, outcomes, lawsuits and settlements"),
    "deployments": ("Deployments", "countries, sectors, operators, live or retrospective use, vendors, "
                    "status by year, and the US by state"),
    "legal_actions": ("Bans, moratoria and rulings", "US states and Europe over time; in force, repealed "
                      "or expired; by level of government"),
    "claims": ("The letters' claims", "each claim's evidence before and after its letter"),
    "coverage": ("Coverage and quality", "rows and freshness per source, the fields most often blank, "
                 "and what waits for review"),
}


def rendered_analyses(datasette) -> list[dict]:
    """The analyses rendered into a folder the site serves statically, each with its address."""
    found = []
    for name, (title, about) in ANALYSES.items():
        for mount, directory in datasette.static_mounts:
            if (Path(directory) / FOLDER / f"{name}.html").is_file():
                found.append({"title": title, "about": about,
                              "url": datasette.urls.path(f"/{mount}/{FOLDER}/{name}.html")})
                break
    return found


@hookimpl
def extra_template_vars(template, datasette):
    if template != "index.html":
        return {}
    return {"analyses": rendered_analyses(datasette)}
