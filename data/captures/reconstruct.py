"""Rebuild the demo captures in data/captures/ from the real third-party files in ../shared/real.

Every cell comes from the real file, except the free text, which is ours:
- atlas/download.csv: every "Face Recognition" row of the full 2020-10-07 Atlas download, and the
  rows of other technologies that have a hand-written summary in atlas/summaries.yml, in the
  download's order (ascending AOSNUMBER, the repeated AOS5547 kept twice). `Summary` is the
  hand-written one where there is one, otherwise a sentence made from the row's own cells (agency,
  place, vendor, first source and its date), ending in the same spaces as the original summary.
  Fully quoted, LF, as EFF serves it.
- atlas/download_2025.csv: the rows of the 2025 sample, then the 2020 rows listed in
  summaries.yml under current_edition_face_recognition placed in the 2025 layout (their new
  columns empty), with the summaries of download.csv less their trailing spaces.
- aiid/incidents.csv: the incidents of aiid/rewritten.yml, in the snapshot's order, every column
  as published except title and description, which are the rewrites; quoted as mongoexport (Go's
  encoding/csv) quotes.
- aiid/duplicates.csv: the snapshot's duplicates table, byte for byte.

Usage: .venv/bin/python data/captures/reconstruct.py [--shared DIR] [--out DIR]
(--shared defaults to ../shared/real beside the repository, --out to this folder).
"""

import argparse
import csv
import io
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2] / "shared" / "real"
ATLAS_2020 = "atlas_of_surveillance/atlas_download_20201007_full.csv"
ATLAS_2025 = "atlas_of_surveillance/atlas_2025_header_sample_polars_rewritten.csv"
AIID_INCIDENTS = "aiid/aiid_snapshot_incidents_full.csv"
AIID_DUPLICATES = "aiid/aiid_snapshot_duplicates.csv"
FACE_RECOGNITION = "Face Recognition"


def read_rows(path: Path) -> tuple[list[str], list[dict]]:
    """A CSV file's header and its rows as dicts, in the file's order."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or ()), list(reader)


def fully_quoted(header: list[str], rows: list[dict]) -> bytes:
    """Rows as the Atlas serves them: every field double-quoted, LF line endings, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row[column] for column in header] for row in rows)
    return out.getvalue().encode("utf-8")


def mongoexport_field(value: str) -> str:
    """A field quoted as Go's encoding/csv quotes it: only when it holds a comma, a quote, a line
    break, or starts with white space (or is the lone `\\.`), inner quotes doubled."""
    if value and (re.search(r'[,"\r\n]', value) or value[0].isspace() or value == "\\."):
        return '"' + value.replace('"', '""') + '"'
    return value


def mongoexport(header: list[str], rows: list[dict]) -> bytes:
    lines = [",".join(mongoexport_field(value) for value in values)
             for values in [header, *([row[column] for column in header] for row in rows)]]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def generated_summary(row: dict) -> str:
    """One sentence from the row's own cells, ending in the original summary's trailing spaces."""
    cell = {column: " ".join(row[column].split()) for column in
            ("Agency", "City", "State", "Vendor", "Link 1 Source", "Link 1 Date")}
    place = ", ".join(value for value in (cell["City"], cell["State"]) if value)
    text = f"The Atlas of Surveillance records face recognition use by {cell['Agency']}"
    if place:
        text += f" ({place})"
    if cell["Vendor"]:
        text += f", with {cell['Vendor']} named as vendor" + ("s" if "," in cell["Vendor"] else "")
    if cell["Link 1 Source"]:
        text += f", citing {cell['Link 1 Source']}"
        if cell["Link 1 Date"]:
            text += f" ({cell['Link 1 Date']})"
    trailing = row["Summary"][len(row["Summary"].rstrip()):]
    return text + "." + trailing


def atlas_rows(rows: list[dict], summaries: dict[str, str]) -> list[dict]:
    """The capture's rows of the 2020 download: FR rows and the hand-summarised others."""
    chosen = []
    for row in rows:
        if row["Technology"] == FACE_RECOGNITION or row["AOSNUMBER"] in summaries:
            summary = summaries.get(row["AOSNUMBER"])
            chosen.append({**row, "Summary": summary if summary is not None else generated_summary(row)})
    missing = set(summaries) - {row["AOSNUMBER"] for row in chosen}
    if missing:
        raise SystemExit(f"summaries.yml names rows the download does not hold: {sorted(missing)}")
    return chosen


def atlas_2025_rows(header: list[str], sample: list[dict], summaries: dict[str, str],
                    rows_2020: list[dict], face_recognition_ids: list[str]) -> list[dict]:
    """The 2025 sample's rows (summaries ours), then the listed 2020 FR rows in the 2025 layout."""
    chosen = [{**row, "Summary": summaries[row["AOSNUMBER"]]} for row in sample]
    by_id = {row["AOSNUMBER"]: row for row in rows_2020}
    for aos in face_recognition_ids:
        old = by_id[aos]
        chosen.append({column: old.get(column, "") for column in header}
                      | {"Summary": old["Summary"].rstrip()})
    return chosen


def aiid_rows(rows: list[dict], rewritten: dict[str, dict]) -> list[dict]:
    """The incidents of rewritten.yml in the snapshot's order, title and description rewritten."""
    chosen = [{**row, "title": rewritten[row["incident_id"]]["title"],
               "description": rewritten[row["incident_id"]]["description"]}
              for row in rows if row["incident_id"] in rewritten]
    missing = set(rewritten) - {row["incident_id"] for row in chosen}
    if missing:
        raise SystemExit(f"rewritten.yml names incidents the snapshot does not hold: {sorted(missing)}")
    return chosen


def reconstruct(shared: Path, out: Path) -> dict[str, int]:
    """Write the four capture files under out; return each file's number of rows."""
    summaries = yaml.safe_load((HERE / "atlas" / "summaries.yml").read_text(encoding="utf-8"))
    rewritten = yaml.safe_load((HERE / "aiid" / "rewritten.yml").read_text(encoding="utf-8"))
    rewritten = {str(incident_id): texts for incident_id, texts in rewritten["incidents"].items()}

    header_2020, full_2020 = read_rows(shared / ATLAS_2020)
    download = atlas_rows(full_2020, summaries["download.csv"])
    header_2025, sample_2025 = read_rows(shared / ATLAS_2025)
    download_2025 = atlas_2025_rows(header_2025, sample_2025, summaries["download_2025.csv"],
                                    download, summaries["current_edition_face_recognition"])
    header_aiid, full_aiid = read_rows(shared / AIID_INCIDENTS)
    incidents = aiid_rows(full_aiid, rewritten)
    duplicates = (shared / AIID_DUPLICATES).read_bytes()

    files = {"atlas/download.csv": fully_quoted(header_2020, download),
             "atlas/download_2025.csv": fully_quoted(header_2025, download_2025),
             "aiid/incidents.csv": mongoexport(header_aiid, incidents),
             "aiid/duplicates.csv": duplicates}
    for name, body in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(body)
    return {"atlas/download.csv": len(download), "atlas/download_2025.csv": len(download_2025),
            "aiid/incidents.csv": len(incidents),
            "aiid/duplicates.csv": duplicates.count(b"\n") - 1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="the real files (default: ../shared/real beside the repository)")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: data/captures)")
    args = parser.parse_args(argv)
    if not (args.shared / ATLAS_2020).exists():
        raise SystemExit(f"{args.shared / ATLAS_2020} is absent: ../shared/real must be beside the "
                         "repository")
    for name, count in reconstruct(args.shared, args.out).items():
        print(f"{args.out / name}: {count} rows")


if __name__ == "__main__":
    main(sys.argv[1:])
