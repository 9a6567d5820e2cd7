"""Command line: classify JSON lines read on standard input, one answer a line on standard output.

    python -m pipelines.classify < documents.jsonl > verdicts.jsonl

Each input line is an object with `id`, `title`, `text` and `language`; each output line is
`{"id", "frt", "kind", "confidence", "country", "place", "agency", "vendor", "date"}`.
A line that is not a JSON object stops the run with its line number.
"""

import argparse
import json
import sys

from pipelines.classify import classify


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.classify", description=__doc__.split("\n")[0])
    parser.add_argument("--no-names", action="store_true",
                        help="judge only (frt, kind, confidence): skip country, place, agency, vendor, date")
    args = parser.parse_args(argv)
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            parser.exit(2, f"line {number}: not JSON ({error})\n")
        if not isinstance(document, dict):
            parser.exit(2, f"line {number}: not a JSON object\n")
        sys.stdout.write(json.dumps(classify(document, names=not args.no_names), ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
