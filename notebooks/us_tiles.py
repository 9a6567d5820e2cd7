"""A map of the United States without map data: each state (and DC) one square tile, placed
roughly where the state lies, shaded by a count. Drawn with matplotlib alone, so it needs no
shapes, tiles or network at run time; it shows which states have rows, not their size or borders.
"""

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

# (row, column) of each state's tile, row 0 at the top: west to east, north to south.
TILES = {
    "AK": (0, 0), "ME": (0, 11),
    "VT": (1, 10), "NH": (1, 11),
    "WA": (2, 1), "ID": (2, 2), "MT": (2, 3), "ND": (2, 4), "MN": (2, 5), "IL": (2, 6),
    "WI": (2, 7), "MI": (2, 8), "NY": (2, 9), "RI": (2, 10), "MA": (2, 11),
    "OR": (3, 1), "NV": (3, 2), "WY": (3, 3), "SD": (3, 4), "IA": (3, 5), "IN": (3, 6),
    "OH": (3, 7), "PA": (3, 8), "NJ": (3, 9), "CT": (3, 10),
    "CA": (4, 1), "UT": (4, 2), "CO": (4, 3), "NE": (4, 4), "MO": (4, 5), "KY": (4, 6),
    "WV": (4, 7), "VA": (4, 8), "MD": (4, 9), "DE": (4, 10),
    "AZ": (5, 2), "NM": (5, 3), "KS": (5, 4), "AR": (5, 5), "TN": (5, 6), "NC": (5, 7),
    "SC": (5, 8), "DC": (5, 9),
    "OK": (6, 4), "LA": (6, 5), "MS": (6, 6), "AL": (6, 7), "GA": (6, 8),
    "HI": (7, 0), "TX": (7, 4), "FL": (7, 9),
}
NONE_COLOUR = "#eeeeee"


def state_counts(region_codes: pd.Series) -> pd.Series:
    """Rows per state from ISO 3166-2 codes ("US-MI" → "MI"); codes of no state are left out."""
    states = region_codes.dropna().str.removeprefix("US-")
    return states[states.isin(TILES)].value_counts()


def draw(ax, counts: pd.Series, title: str, label: str, cmap: str = "Blues") -> None:
    """Tiles shaded by counts (a Series by two-letter state code); states without one stay grey.
    label names what is counted, on the colour bar."""
    colours = plt.get_cmap(cmap)
    scale = Normalize(vmin=0, vmax=max(1, int(counts.max()) if len(counts) else 1))
    for state, (row, column) in TILES.items():
        count = int(counts.get(state, 0))
        face = colours(scale(count)) if count else NONE_COLOUR
        ax.add_patch(Rectangle((column, -row), 0.94, -0.94, facecolor=face, edgecolor="white"))
        dark = count and scale(count) > 0.55
        ax.text(column + 0.47, -row - 0.36, state, ha="center", va="center", fontsize=8,
                fontweight="bold", color="white" if dark else "0.2")
        if count:
            ax.text(column + 0.47, -row - 0.68, str(count), ha="center", va="center", fontsize=7,
                    color="white" if dark else "0.2")
    ax.set_xlim(-0.2, 12.2)
    ax.set_ylim(-8.2, 0.2)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set(title=title, xlabel="west to east (states as tiles, not to scale)",
           ylabel="north to south")
    for side in ax.spines.values():
        side.set_visible(False)
    bar = ax.figure.colorbar(plt.cm.ScalarMappable(norm=scale, cmap=colours), ax=ax, shrink=0.6)
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    bar.set_label(label)
