#!/usr/bin/env bash
# Installs what the tests need (a PostgreSQL server for a private cluster, Chromium for the browser
# tests) and runs every test. Extra arguments go to `dotnet test`, e.g. ./test.sh --filter Browser
set -euo pipefail
cd "$(dirname "$0")"
source scripts/common.sh

ensure_run_prerequisites
ensure_packages postgresql postgresql-15-q3c chromium util-linux python3 python3-requests python3-healpy python3-astropy bubblewrap \
  jupyter-notebook python3-notebook python3-ipykernel python3-terminado python3-numpy python3-scipy python3-pandas python3-matplotlib \
  slurm-wlm munge \
  r-cran-irkernel octave python3-octave-kernel

# Private PostgreSQL clusters of an earlier, interrupted run.
for dir in /tmp/oss-pg-*; do
  [ -d "$dir/data" ] || continue
  for pg_ctl in /usr/lib/postgresql/*/bin/pg_ctl; do
    runuser -u postgres -- "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
done

results="$PWD/.build/test-results"
rm -rf "$results"
export OSS_SCREENSHOTS="$results/screenshots"

status=0
dotnet test OpenSciServer.slnx -c Release --nologo \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=minimal" \
  --results-directory "$results" "$@" || status=$?

# One plain closing line: N passed, N failed, N skipped.
if [ -f "$results/tests.trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$results/tests.trx" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$(get total); passed=$(get passed); failed=$(get failed)
  echo "Tests: ${passed:-0} passed, ${failed:-0} failed, $(( ${total:-0} - ${passed:-0} - ${failed:-0} )) skipped"
fi
exit $status
