"""Validate a Compose model (JSON on stdin) against the vendored Compose Specification
schema: `python validate.py SCHEMA.json < model.json`. Prints every error with the path
to it; exit status 0 when valid, 1 otherwise."""

import json
import sys

from jsonschema import Draft7Validator


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    Draft7Validator.check_schema(schema)
    document = json.load(sys.stdin)
    errors = sorted(Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    for e in errors:
        path = "/".join(str(p) for p in e.absolute_path) or "(root)"
        print(f"{path}: {e.message}")
    if not errors:
        print("valid")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
