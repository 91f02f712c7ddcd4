"""Write (or check) the dev/test split of the conference question set.

The split was made once, on 2026-11-29, before the answering core was rebuilt: the dev
part (about 60 %) may be read and used to tune; the test part is run only to report.
The rule is `bench.datasets.split_conference` (whole groups of translations/paraphrases,
stratified by answerable and language, ordered by a salted hash). The result lives in the
`split` field of each line of bench/conference_questions.jsonl, so it cannot drift when
the rule's code is edited; `--check` says whether the file still matches the rule.

    python -m bench.conference_split            # write the field
    python -m bench.conference_split --check    # exit 1 if the file differs from the rule
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from bench.datasets import CONFERENCE_SET, read_jsonl, split_conference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    rows = read_jsonl(CONFERENCE_SET)
    split = split_conference(rows)
    if args.check:
        differing = [row["id"] for row in rows if row.get("split") != split[row["id"]]]
        if differing:
            print(f"{len(differing)} questions differ from the rule: {', '.join(differing[:10])}", file=sys.stderr)
            return 1
        print("the split field matches the rule")
        return 0
    lines = [json.dumps({**row, "split": split[row["id"]]}, ensure_ascii=False) for row in rows]
    CONFERENCE_SET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = Counter((row["lang"], row["answerable"], split[row["id"]]) for row in rows)
    for key in sorted(counts):
        print(key, counts[key])
    return 0


if __name__ == "__main__":
    sys.exit(main())
