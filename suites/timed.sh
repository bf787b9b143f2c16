#!/usr/bin/env bash
# timed.sh LOG [GO TEST ARGS...]: runs `go test -count=1 -v ARGS` over the kind suites (all of them
# when no package is given; E2E_PARALLEL of them at a time, default 1), its output to the terminal
# and LOG, then prints the wall time of each suite (as go test measured it: cluster, features,
# teardown) and of the whole run, also at the end of LOG. It exits with go test's status.
set -o nounset -o pipefail
log=$1; shift
[[ $# -gt 0 ]] || set -- ./suites/...
mkdir -p "$(dirname "$log")"
start=$(date +%s)
"${GO:-go}" test -count=1 -p "${E2E_PARALLEL:-1}" -timeout "${E2E_TIMEOUT:-60m}" -v "$@" 2>&1 | tee "$log"
status=$?
{
  echo "suites: wall time per suite"
  grep -E '^(ok|FAIL)[[:space:]]+github.com/netcert/netcert/suites/' "$log" |
    awk '{ sub("github.com/netcert/netcert/suites/", "", $2); printf "  %-10s %-5s %s\n", $2, $1, $3 }'
  echo "suites: total $(($(date +%s) - start))s (exit status $status)"
} | tee -a "$log"
exit "$status"
