#!/usr/bin/env python3
"""Validate FHIR R4 Media resources (media.fhir.json) structurally.

Usage: validate_fhir.py FILE [FILE ...]

1. Always: the file is JSON with resourceType Media, and content.size and
   content.hash (base64 SHA-1) match the image file content.url names,
   relative to the JSON file's directory.
2. With fhir.resources installed: parses it with the R4B Media model
   (pydantic): unknown elements, wrong types, missing required elements
   (status, content) and malformed primitives (dateTime, base64Binary,
   code, uri, ...) are refused. R4B's Media is R4's, unchanged.

Exits 0 when every file is valid, 1 when one is not, 2 on bad usage, 3 when
the checks of step 1 passed but fhir.resources is not installed. Prints file
names, element paths and error types only: never values (the files hold
patient data).
"""
import base64
import hashlib
import json
import os
import sys

try:
    from fhir.resources.R4B.media import Media
except ImportError:
    Media = None

try:
    from pydantic import ValidationError
except ImportError:
    ValidationError = Exception


def check_content(path, data):
    content = data.get("content")
    if not isinstance(content, dict):
        return ["content: missing"]
    url = content.get("url")
    if not isinstance(url, str) or "/" in url or url.startswith("."):
        return ["content.url: not a file name beside the resource"]
    image = os.path.join(os.path.dirname(path), url)
    try:
        with open(image, "rb") as f:
            raw = f.read()
    except OSError:
        return ["content.url: the image file is missing"]
    problems = []
    if content.get("size") != len(raw):
        problems.append("content.size: does not match the image file")
    if content.get("hash") != base64.b64encode(hashlib.sha1(raw).digest()).decode():
        problems.append("content.hash: not the base64 SHA-1 of the image file")
    return problems


def validate(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except ValueError:
        return ["not JSON"]
    if not isinstance(data, dict) or data.get("resourceType") != "Media":
        return ["resourceType is not Media"]
    problems = check_content(path, data)
    if problems or Media is None:
        return problems
    try:
        if hasattr(Media, "model_validate_json"):  # fhir.resources >= 8 (pydantic 2)
            Media.model_validate_json(raw)
        else:  # older releases (pydantic 1)
            Media.parse_raw(raw)
    except ValidationError as e:
        problems = []
        errors = e.errors() if hasattr(e, "errors") else []
        for err in errors:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{loc or '(resource)'}: {err.get('type', 'invalid')}")
        return problems or ["invalid (no details)"]
    return []


def main(args):
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    failed = 0
    for path in args:
        problems = validate(path)
        if problems:
            failed += 1
            print(f"INVALID {path}", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
    if failed:
        print(f"validate_fhir: {failed} of {len(args)} invalid", file=sys.stderr)
        return 1
    if Media is None:
        print("fhir.resources is not installed (pip install fhir.resources): "
              f"only size and hash of {len(args)} file(s) were checked", file=sys.stderr)
        return 3
    print(f"validate_fhir: {len(args)} valid R4B Media resource(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
