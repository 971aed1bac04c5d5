-- mreg schema, version 8: every audit entry names the canonical form its hash was computed in
-- (docs/AUDIT.md, section 2). The entries written before are form 1, the default; mreg now writes
-- form 2, whose bytes tell an integer from a text and begin with the form's number, so that no
-- entry's bytes in one form are another entry's bytes in another. Adding a column with a
-- constant default rewrites no row: the upgrade takes the same time at any size of log.

ALTER TABLE audit_log ADD COLUMN form INTEGER NOT NULL DEFAULT 1;
