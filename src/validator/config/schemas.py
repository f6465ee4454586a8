"""The JSON Schema of each configuration file, generated from the models that validate it.

    python -m validator.config.schemas            # (re)write schemas/*.schema.json (`make schemas`)
    python -m validator.config.schemas --check    # exit 1 if a published schema is out of date

Published in the repository's schemas/ folder: an editor pointed at one (a
`# yaml-language-server: $schema=../schemas/suite.schema.json` first line, as in suites/*.yaml)
checks a file as it is typed, with the loader's own rules. tests/unit/config/test_schemas.py fails when a
published schema differs from what the models generate. Importing this module reads and writes
nothing; only running it as a program writes the files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from validator.config.allowlist_file import AllowlistDocument
from validator.config.criteria_file import CriteriaFile
from validator.config.document import json_schema
from validator.config.suite_file import SuiteDocument
from validator.resources import bundled

# file name in schemas/ -> the model of that kind of file
DOCUMENTS: dict[str, type[BaseModel]] = {
    "suite.schema.json": SuiteDocument,
    "criteria.schema.json": CriteriaFile,
    "allowlist.schema.json": AllowlistDocument,
}
# src/validator/config/schemas.py -> the repository root
SCHEMA_DIR = bundled("schemas")


def schema_texts() -> dict[str, str]:
    """Each published file's name and its exact text."""
    return {
        name: json.dumps(json_schema(model), indent=2, ensure_ascii=False) + "\n"
        for name, model in DOCUMENTS.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m validator.config.schemas", description="write the config files' JSON Schemas"
    )
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help=f"folder (default: {SCHEMA_DIR})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file differs")
    args = parser.parse_args(argv)
    stale = []
    for name, text in schema_texts().items():
        path = args.out / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
