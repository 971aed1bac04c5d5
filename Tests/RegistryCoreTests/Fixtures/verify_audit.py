#!/usr/bin/env python3
"""Verify the audit hash chain of an mreg database (docs/AUDIT.md). Usage: verify_audit.py mreg.db"""
import hashlib, json, pathlib, sqlite3, sys

def canonical(row, form):  # section 2: form 2 begins with 0x02 and tags integers 0x02
    out = b"" if form == 1 else bytes([form])
    for value in row:  # seq, at, actor, action, model, version, branch, details
        if value is None:  # NULL -> 0x00
            out += b"\x00"
            continue
        tag = 1 if form == 1 or not isinstance(value, int) else 2
        data = str(value).encode("ascii") if isinstance(value, int) else value
        out += bytes([tag]) + len(data).to_bytes(4, "big") + data
    return out

db = sqlite3.connect(pathlib.Path(sys.argv[1]).resolve().as_uri() + "?mode=ro", uri=True)
db.text_factory = bytes  # hash TEXT columns exactly as stored
rows = db.execute("SELECT seq, at, actor, action, model, version, branch, details, prev_hash, hash, form"
                  " FROM audit_log ORDER BY seq")
prev, good, bad = bytes(32), 0, None
for row in rows:
    if row[0] != good + 1 or row[8] != prev or row[10] not in (1, 2):  # a gap, a broken link, an unknown form
        bad = good + 1
        break
    digest = hashlib.sha256(prev + canonical(row[:8], row[10])).digest()
    if digest != row[9]:  # the entry was changed after it was written
        bad = row[0]
        break
    prev, good = digest, row[0]
result = {"ok": bad is None, "entries": good, "head": prev.hex()}
if bad is not None:
    result["first_bad_seq"] = bad
print(json.dumps(result))
sys.exit(0 if bad is None else 1)
