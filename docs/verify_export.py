#!/usr/bin/env python3
"""Re-verify mreg's audit hash chain from a JSON-lines export alone (docs/AUDIT.md, section 8).

    mreg audit export --format jsonl > audit.jsonl      (or GET /v1/audit/export)
    python3 verify_export.py audit.jsonl

Standard library only. Prints one JSON line with the same ok, entries, head and first_bad_seq
as `mreg audit verify`, and exits 0 when the export verifies, 1 otherwise. It needs no access to
the registry: every field is exported as it was hashed (at in milliseconds, details as its
stored text, null apart from "", the canonical form each entry names).
"""
import hashlib
import json
import sys

FIELDS = ["seq", "at", "actor", "action", "model", "version", "branch", "details"]
INTEGERS = {"seq", "at", "version"}


def canonical(entry):
    """The canonical bytes of section 2, or None when a field has the wrong type or the form is unknown."""
    form = entry.get("form", 1)  # exports written before schema 8 name no form: they are all form 1
    if form not in (1, 2):
        return None
    out = b"" if form == 1 else bytes([form])  # form 2 begins with 0x02
    for name in FIELDS:
        value = entry[name]
        if value is None:  # null -> 0x00
            out += b"\x00"
            continue
        if name in INTEGERS:  # the types the STRICT table enforces, checked here
            if type(value) is not int:
                return None
            tag, data = (1 if form == 1 else 2), str(value).encode("ascii")
        else:
            if type(value) is not str:
                return None
            tag, data = 1, value.encode("utf-8")
        out += bytes([tag]) + len(data).to_bytes(4, "big") + data
    return out


prev, good, bad = bytes(32), 0, None
with open(sys.argv[1], encoding="utf-8") as export:
    for line in export:
        entry = json.loads(line)
        if entry["seq"] != good + 1 or bytes.fromhex(entry["prev_hash"]) != prev:  # a gap, or a broken link
            bad = good + 1
            break
        encoded = canonical(entry)
        digest = None if encoded is None else hashlib.sha256(prev + encoded).digest()
        if digest is None or digest != bytes.fromhex(entry["hash"]):  # the entry was changed after it was written
            bad = entry["seq"]
            break
        prev, good = digest, entry["seq"]
result = {"ok": bad is None, "entries": good, "head": prev.hex()}
if bad is not None:
    result["first_bad_seq"] = bad
print(json.dumps(result))
sys.exit(0 if bad is None else 1)
