#!/usr/bin/env python3
"""Re-verify mreg's audit hash chain from a JSON-lines export alone (docs/AUDIT.md, section 8).

    mreg audit export --format jsonl > audit.jsonl      (or GET /v1/audit/export)
    python3 verify_export.py audit.jsonl

Standard library only. Prints one JSON line with the same ok, entries, head and first_bad_seq
as `mreg audit verify`, and exits 0 when the export verifies, 1 otherwise. It needs no access to
the registry: every field is exported as it was hashed (at in milliseconds, details as its
stored text, null apart from "").
"""
import hashlib
import json
import sys

FIELDS = ["seq", "at", "actor", "action", "model", "version", "branch", "details"]


def field(value):  # null -> 0x00; else 0x01, 4-byte big-endian length, UTF-8 bytes (integers in decimal)
    if value is None:
        return b"\x00"
    data = str(value).encode("utf-8")
    return b"\x01" + len(data).to_bytes(4, "big") + data


prev, good, bad = bytes(32), 0, None
with open(sys.argv[1], encoding="utf-8") as export:
    for line in export:
        entry = json.loads(line)
        if entry["seq"] != good + 1 or bytes.fromhex(entry["prev_hash"]) != prev:  # a gap, or a broken link
            bad = good + 1
            break
        digest = hashlib.sha256(prev + b"".join(field(entry[name]) for name in FIELDS)).digest()
        if digest != bytes.fromhex(entry["hash"]):  # the entry was changed after it was written
            bad = entry["seq"]
            break
        prev, good = digest, entry["seq"]
result = {"ok": bad is None, "entries": good, "head": prev.hex()}
if bad is not None:
    result["first_bad_seq"] = bad
print(json.dumps(result))
sys.exit(0 if bad is None else 1)
