#!/usr/bin/env python3
"""Verify the audit hash chain of an mreg database (docs/AUDIT.md). Usage: verify_audit.py mreg.db"""
import hashlib, json, pathlib, sqlite3, sys

def field(value):  # NULL -> 0x00; else 0x01, 4-byte big-endian length, UTF-8 bytes
    if value is None:
        return b"\x00"
    data = str(value).encode("ascii") if isinstance(value, int) else value
    return b"\x01" + len(data).to_bytes(4, "big") + data

db = sqlite3.connect(pathlib.Path(sys.argv[1]).resolve().as_uri() + "?mode=ro", uri=True)
db.text_factory = bytes  # hash TEXT columns exactly as stored
rows = db.execute("SELECT seq, at, actor, action, model, version, branch, details, prev_hash, hash"
                  " FROM audit_log ORDER BY seq")
prev, good, bad = bytes(32), 0, None
for row in rows:
    if row[0] != good + 1 or row[8] != prev:  # a gap in seq, or a broken link
        bad = good + 1
        break
    digest = hashlib.sha256(prev + b"".join(field(v) for v in row[:8])).digest()
    if digest != row[9]:  # the entry was changed after it was written
        bad = row[0]
        break
    prev, good = digest, row[0]
result = {"ok": bad is None, "entries": good, "head": prev.hex()}
if bad is not None:
    result["first_bad_seq"] = bad
print(json.dumps(result))
sys.exit(0 if bad is None else 1)
