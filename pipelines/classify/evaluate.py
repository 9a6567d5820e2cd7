"""Precision and recall of the classifier on the labelled headlines, as Markdown tables.

    python -m pipelines.classify.evaluate [--split dev|heldout|all] [--set PATH]

The set (tests/fixtures/classifier/headlines.jsonl) holds real headlines with summaries in our own
words, each labelled `frt` and `kind` and put in the `dev` split (used while writing the lexicons)
or the `heldout` split (not looked at while writing them). Classes: `frt` (is about face
recognition) and each kind, a kind counting as predicted only where `frt` is too; rows per class,
then per language for `frt` and `wrongful_arrest`.
"""

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipelines.classify import classify

LABELLED = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "classifier" / "headlines.jsonl"
KINDS = ("deployment", "wrongful_arrest", "legal_action", "other")


@dataclass(frozen=True)
class Score:
    true_positive: int
    false_positive: int
    false_negative: int

    @property
    def precision(self) -> float | None:
        predicted = self.true_positive + self.false_positive
        return self.true_positive / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        actual = self.true_positive + self.false_negative
        return self.true_positive / actual if actual else None

    @property
    def support(self) -> int:
        return self.true_positive + self.false_negative


def read(path: Path = LABELLED, split: str = "all") -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if split == "all" or row["split"] == split]


def _class_of(record: dict, name: str) -> bool:
    return bool(record["frt"]) if name == "frt" else bool(record["frt"]) and record["kind"] == name


def score(pairs, name: str) -> Score:
    """Score for one class over (label, prediction) pairs."""
    counts = Counter((_class_of(label, name), _class_of(predicted, name)) for label, predicted in pairs)
    return Score(counts[True, True], counts[False, True], counts[True, False])


def predict(rows: list[dict]) -> list[tuple[dict, dict]]:
    return [(row, classify(row, names=False)) for row in rows]


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def table(pairs, title: str) -> str:
    lines = [f"**{title}** ({len(pairs)} documents)", "",
             "| class | language | support | precision | recall |",
             "| --- | --- | ---: | ---: | ---: |"]
    for name in ("frt", *KINDS):
        result = score(pairs, name)
        lines.append(f"| {name} | all | {result.support} | {_cell(result.precision)} | "
                     f"{_cell(result.recall)} |")
    for name in ("frt", "wrongful_arrest"):
        for language in sorted({label["language"] for label, _ in pairs}):
            result = score([(label, got) for label, got in pairs if label["language"] == language], name)
            lines.append(f"| {name} | {language} | {result.support} | {_cell(result.precision)} | "
                         f"{_cell(result.recall)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.classify.evaluate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default=None,
                        help="one split (default: dev, held-out and all, one table each)")
    parser.add_argument("--set", type=Path, default=LABELLED, help="labelled JSON lines")
    parser.add_argument("--errors", action="store_true", help="list the documents classified wrongly")
    args = parser.parse_args(argv)
    for split in [args.split] if args.split else ["dev", "heldout", "all"]:
        pairs = predict(read(args.set, split))
        names = {"dev": "Dev split", "heldout": "Held-out split", "all": "Whole set"}
        print(table(pairs, names[split]) + "\n")
        if args.errors:
            for label, got in pairs:
                if (label["frt"], label["kind"]) != (got["frt"], got["kind"]):
                    print(f"- {label['id']}: labelled {label['frt']}/{label['kind']}, got "
                          f"{got['frt']}/{got['kind']}: {label['title']}")
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
