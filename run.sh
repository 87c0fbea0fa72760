#!/usr/bin/env bash
# Installs what is missing, builds, and starts OpenSciServer on the embedded default
# (SQLite metadata, data in ./data) at http://localhost:5000. Extra arguments go to the server,
# e.g. ./run.sh --urls http://0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")"
source scripts/common.sh

ensure_run_prerequisites

echo "==> Building"
dotnet publish src/OpenSciServer -c Release -o .build/app --nologo -v quiet

export OPENSCISERVER_DATA="${OPENSCISERVER_DATA:-$PWD/data}"
echo "==> Starting OpenSciServer (data in $OPENSCISERVER_DATA)"
exec dotnet .build/app/OpenSciServer.dll --contentRoot "$PWD/.build/app" "$@"
