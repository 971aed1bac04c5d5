#!/usr/bin/env bash
# A guided tour of mreg: register, test, gate, promote, diff, roll back, audit.
#
#   scripts/demo.sh [path/to/mreg]      (default .build/debug/mreg; `make demo` builds it first)
#
# Everything happens in a throwaway database that is removed when the script exits.
set -euo pipefail

MREG=${1:-.build/debug/mreg}
if [[ ! -x $MREG ]]; then
    echo "demo: no mreg binary at $MREG; build it with 'swift build' or run 'make demo'" >&2
    exit 1
fi
case $MREG in /*) ;; *) MREG="$PWD/$MREG" ;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mreg-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export MREG_DB="$WORK/registry.db"
# Alice is the ML engineer who registers the versions; others approve and release them.
export MREG_ACTOR=alice

bold='' plain=''
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step=0
heading() {
    step=$((step + 1))
    printf '\n%s%d. %s%s\n' "$bold" "$step" "$1" "$plain"
}

note() { printf '   %s\n' "$*"; }

# Prints the command as a user would type it, then runs it.
mreg() {
    local shown="mreg" arg
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then shown+=" $arg"; else shown+=" '${arg//\'/\'\\\'\'}'"; fi
    done
    printf '\n   $ %s\n' "$shown"
    "$MREG" "$@" | sed 's/^/   /'
}

printf 'mreg demo: a model registry walk-through (database %s)\n' "$MREG_DB"
note "MREG_DB and MREG_ACTOR=alice are set in the environment; --db and --actor override them."

heading "Create the database"
mreg init

heading "Register three versions of the fraud model, each derived from the one before"
mreg register fraud --artifact s3://models/fraud/1 --param lr=0.05 --metric accuracy=0.86 --metric recall=0.78 \
    --tag team=risk --description "baseline gradient-boosted trees"
mreg register fraud --artifact s3://models/fraud/2 --param lr=0.02 --metric accuracy=0.91 --metric recall=0.82 \
    --tag team=risk --parent 1 --description "lower learning rate"
mreg register fraud --artifact s3://models/fraud/3 --param lr=0.02 --param depth=8 --metric accuracy=0.93 \
    --metric recall=0.85 --tag team=risk --parent 2 --description "deeper trees"
note "develop now points at v3:"
mreg versions fraud

heading "Attach test reports from CI: a JUnit XML file and a bare status"
cat > "$WORK/junit.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="unit" tests="3" failures="0" errors="0" skipped="0" time="0.42">
  <properties><property name="coverage" value="0.87"/></properties>
  <testcase classname="fraud.features" name="test_amount_bucketing" time="0.11"/>
  <testcase classname="fraud.features" name="test_merchant_hashing" time="0.19"/>
  <testcase classname="fraud.scoring" name="test_score_range" time="0.12"/>
</testsuite>
XML
for version in 2 3; do
    mreg report add fraud "$version" --suite unit --junit "$WORK/junit.xml"
    mreg report add fraud "$version" --suite integration --status passed --metric p99_ms=38
done
mreg reports fraud 3

heading "Set a small promotion policy"
cat > "$WORK/policy.yaml" <<'YAML'
release:
  require_reports: [unit, integration]
  thresholds: {accuracy: ">= 0.90"}
master:
  require_reports: [unit, integration]
  approvals: {count: 2, exclude_registrant: true}
YAML
sed 's/^/   | /' "$WORK/policy.yaml"
mreg policy set fraud --file "$WORK/policy.yaml"

heading "Ask before acting: a dry run shows every gate (v1 has no reports and too low an accuracy)"
if mreg promote fraud --to release --version 1 --dry-run; then
    echo "demo: expected v1 to fail its release gates" >&2
    exit 1
fi
note "(exit code 5: gate denied; nothing moved)"

heading "Promote v2 to release, then to master after two approvals (not by alice, the registrant)"
mreg promote fraud --to release --version 2 --reason "passes offline eval"
mreg approve fraud 2 --to master --actor bob --comment "eval and reports look right"
mreg approve fraud 2 --to master --actor carol
mreg promote fraud --to master --actor rita --expect 0 --reason "first production model"

heading "Remember this moment: production runs v2"
sleep 1 # Timestamps have millisecond precision; keep BEFORE strictly after the steps above.
BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
note "BEFORE=$BEFORE"

heading "Ship v3: release, approvals, master (--expect guards against a concurrent change)"
mreg promote fraud --to release --reason "better recall"
mreg approve fraud 3 --to master --actor bob
mreg approve fraud 3 --to master --actor carol
mreg promote fraud --to master --actor rita --expect 2 --reason "Q4 model"

heading "What changed between what production ran then and what it runs now?"
mreg diff fraud "master@$BEFORE" master

heading "v3 misbehaves in production: roll master back (one command, no gates)"
mreg rollback fraud --reason "false positives doubled" --actor rita
mreg show fraud master

heading "History: every move of every branch, newest first"
mreg history fraud

heading "What did each branch hold at BEFORE?"
mreg history fraud --at "$BEFORE"

heading "Audit: who did what, and proof that nobody rewrote it"
mreg audit log --model fraud --limit 8
mreg audit verify

printf '\nDone. The demo database is removed on exit.\n'
