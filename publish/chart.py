"""A stacked bar chart of counts per year, laid out for an SVG template: no JavaScript, no CDN.

`stacked_years` takes (year, series, count) triples, as the canned query counts_by_kind_and_year
returns them, and returns the geometry: one bar per year from the first to the last year with
data (empty years included, so that the time axis is honest), one segment per series, y-axis
ticks at round numbers, and the rows without a year counted apart.
"""

from dataclasses import dataclass, field

WIDTH, HEIGHT = 1100, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 40, 10, 10, 28


@dataclass
class Segment:
    series: str
    count: int
    y: float
    height: float


@dataclass
class Bar:
    year: int
    x: float
    width: float
    total: int
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: int
    plot_bottom: float
    plot_left: float
    plot_right: float
    bars: list[Bar]
    ticks: list[tuple[int, float]]  # (value, y)
    year_labels: list[tuple[int, float]]  # (year, x of the label's centre)
    series: list[str]
    undated: dict[str, int]


def nice_step(maximum: int, most_ticks: int = 5) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that needs at most most_ticks steps to reach maximum."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * most_ticks >= maximum:
                return step * factor
        step *= 10


def stacked_years(counts: list[tuple[str | None, str, int]], series: list[str],
                  width: int = WIDTH, height: int = HEIGHT) -> Chart:
    by_year: dict[int, dict[str, int]] = {}
    undated = {name: 0 for name in series}
    for year, name, count in counts:
        if name not in undated:
            continue
        if year and str(year).isdigit():
            by_year.setdefault(int(year), {}).setdefault(name, 0)
            by_year[int(year)][name] += count
        else:
            undated[name] += count
    plot_left, plot_right = MARGIN_LEFT, width - MARGIN_RIGHT
    plot_top, plot_bottom = MARGIN_TOP, height - MARGIN_BOTTOM
    years = list(range(min(by_year), max(by_year) + 1)) if by_year else []
    top = max((sum(c.values()) for c in by_year.values()), default=0)
    step = nice_step(max(top, 1))
    scale_max = step * -(-max(top, 1) // step)
    per_unit = (plot_bottom - plot_top) / scale_max
    slot = (plot_right - plot_left) / max(len(years), 1)
    bars = []
    for index, year in enumerate(years):
        bar = Bar(year=year, x=plot_left + index * slot + slot * 0.15, width=slot * 0.7,
                  total=sum(by_year.get(year, {}).values()))
        base = plot_bottom
        for name in series:
            count = by_year.get(year, {}).get(name, 0)
            if count:
                base -= count * per_unit
                bar.segments.append(Segment(name, count, round(base, 2),
                                            round(count * per_unit, 2)))
        bars.append(bar)
    ticks = [(value, round(plot_bottom - value * per_unit, 2))
             for value in range(0, scale_max + 1, step)]
    every = max(1, -(-len(years) * 40 // int(plot_right - plot_left)))
    labels = [(bar.year, round(bar.x + bar.width / 2, 2)) for i, bar in enumerate(bars)
              if (len(bars) - 1 - i) % every == 0]
    return Chart(width, height, plot_bottom, plot_left, plot_right, bars, ticks, labels,
                 list(series), undated)
