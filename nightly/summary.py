"""The night's summary, readable in ten seconds: one line per source, then the build and checks.

Per source: status, items, new, changed, gone, dropped with its top reasons, duration, what the
requests cost (HTTP statuses), and under a source that needs a human, what went wrong (cut at
MESSAGE characters: the run log keeps it whole). The same
text is printed, written to a file (and to GitHub's step summary), and its first line is the
subject of the nightly commit.
"""

from scrapers.monitors import top_reasons

NEEDS_A_HUMAN = ("failed",)
MESSAGE = 240  # characters of a problem shown; the run log keeps it whole


def _requests(run: dict) -> str:
    statuses = run.get("http_status") or {}
    if not run.get("requests"):
        return "-"
    return f"{run['requests']} ({', '.join(f'{code}×{n}' for code, n in sorted(statuses.items()))})"


def _dropped(run: dict) -> str:
    if not run.get("dropped"):
        return "0"
    return f"{run['dropped']} ({top_reasons(run.get('dropped_reasons') or {})})"


def _cell(run: dict, key: str) -> str:
    return "-" if run["status"] in ("failed", "skipped") and key != "items" else str(run.get(key, "-"))


def needs_a_human(runs: list[dict], build_ok: bool, checks) -> bool:
    return any(r["status"] in NEEDS_A_HUMAN for r in runs) or not build_ok or not all(c.ok for c in checks)


def subject(night: str, runs: list[dict], build_ok: bool, checks) -> str:
    failed = [r["spider"] for r in runs if r["status"] == "failed"]
    counts = ", ".join(f"{r['spider']} {r['status']}" + (f" +{r['new']} ~{r['changed']} -{r['gone']}"
                       if r["status"] in ("ok", "partial") else "") for r in runs)
    verdict = "needs a human" if needs_a_human(runs, build_ok, checks) else "all good"
    return f"Nightly {night}: {verdict} ({counts}{'; failed: ' + ', '.join(failed) if failed else ''})"


def render(night: str, runs: list[dict], build: str, build_ok: bool, checks) -> str:
    lines = [f"# {subject(night, runs, build_ok, checks)}", "",
             "| source | status | items | new | changed | gone | dropped | time | requests |",
             "|---|---|---|---|---|---|---|---|---|"]
    problems = []
    for run in runs:
        status = run["status"].upper() if run["status"] in NEEDS_A_HUMAN else run["status"]
        duration = f"{run['duration_s']}s" if run.get("duration_s") is not None else "-"
        lines.append(f"| {run['spider']} | {status} | {run.get('items', '-')} | {_cell(run, 'new')} | "
                     f"{_cell(run, 'changed')} | {_cell(run, 'gone')} | {_dropped(run)} | {duration} | "
                     f"{_requests(run)} |")
        if run.get("error"):
            error = run["error"] if len(run["error"]) <= MESSAGE else run["error"][:MESSAGE - 1] + "…"
            problems.append(f"- **{run['spider']}** ({run['status']}): {error}")
    lines += ["", *(problems or ["- no source problem"]),
              f"- **build** {'ok' if build_ok else 'FAILED'}: {build}"]
    lines += [f"- **check {c.name}** {'ok' if c.ok else 'FAILED'}: {c.detail}" for c in checks]
    return "\n".join(lines) + "\n"
