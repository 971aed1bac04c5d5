#!/usr/bin/env bash
# Fuzzes a running `mreg serve` against the OpenAPI document it serves, with schemathesis.
#
#   scripts/schemathesis.sh BASE_URL TOKEN [more schemathesis options]
#   e.g. scripts/schemathesis.sh http://127.0.0.1:8080 mreg_0123…
#
# TOKEN should be an admin token (`mreg token create --name fuzz --role admin --json`) so that
# every operation is reachable; use a throwaway database, the run writes to it.
# Exits non-zero when any check fails: a 5xx, a response that does not match its schema, a
# status or content type the document does not declare, …
#
# Environment:
#   SCHEMATHESIS          the executable (default: .build/venv/bin/schemathesis, made by `make test-tools`)
#   SCHEMATHESIS_EXAMPLES test cases per operation and phase (default 20)
#   SCHEMATHESIS_TIMEOUT  seconds before the whole run is stopped and counted a failure (default 240)
#   SCHEMATHESIS_SEED     the random seed (default 1, so that runs are reproducible)
#   SCHEMATHESIS_CHECKS   the checks (default all)
#   SCHEMATHESIS_EXCLUDE  checks left out (default positive_data_acceptance):
#                         it wants every schema-valid request to succeed, but a stale If-Match is
#                         rightly 412 and some rules (a forced promotion needs a reason) are not
#                         expressed in the schema. Set it to "" to run it too.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 BASE_URL TOKEN [schemathesis options]" >&2
  exit 2
fi
base_url=${1%/}
token=$2
shift 2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
schemathesis=${SCHEMATHESIS:-$root/.build/venv/bin/schemathesis}
if [[ ! -x $schemathesis ]]; then
  echo "$schemathesis is missing; run: make test-tools" >&2
  exit 2
fi

exclude=${SCHEMATHESIS_EXCLUDE-positive_data_acceptance}
status=0
# `timeout` bounds the run as a whole; --max-examples bounds each operation. (--max-time is
# not a bound: schemathesis 4 keeps fuzzing until that budget is spent.) The event stream is left
# out: a followed stream never ends, so a request-and-answer fuzzer can only time out on it;
# RegistryServerTests/EventStreamTests checks its parameters and its bytes instead. So are the
# webhook operations that make the server send to a URL (adding one starts deliveries to it):
# a fuzzer must not make the machine it runs on call random hosts. mregTests/WebhookTests and
# RegistryCoreTests/WebhookCoreTests check their input.
timeout --kill-after=10 "${SCHEMATHESIS_TIMEOUT:-240}" \
  "$schemathesis" run "$base_url/openapi.yaml" \
  --url "$base_url" \
  --header "Authorization: Bearer $token" \
  --checks "${SCHEMATHESIS_CHECKS:-all}" \
  ${exclude:+--exclude-checks "$exclude"} \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-20}" \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --request-timeout 10 \
  --wait-for-schema 10 \
  --generation-database none \
  --exclude-operation-id streamEvents \
  --exclude-operation-id addWebhook --exclude-operation-id testWebhook --exclude-operation-id redeliverWebhook \
  --no-color \
  "$@" || status=$?

if ((status == 124 || status == 137)); then
  echo "schemathesis did not finish within ${SCHEMATHESIS_TIMEOUT:-240} s" >&2
fi
exit "$status"
