#!/usr/bin/env bash
# Runs the test suite against real services: brings them up (installing what is missing), then dotnet test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v dotnet >/dev/null || { echo "[$(basename "$0" .sh)] needs the .NET 10 SDK (dotnet): https://dotnet.microsoft.com/download/dotnet/10.0" >&2; exit 1; }
scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
log="$root/.services/test-output.log"
set +e
# The cluster tests need three broker nodes: scripts/test-cluster.sh runs them.
# A test that hangs is stopped after 10 minutes and named, rather than holding the run until CI gives up.
dotnet test Vocab.sln --nologo --blame-hang-timeout 10m --blame-hang-dump-type none -c Release --filter "Category!=Cluster" --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line for whoever reads the end of the output.
passed=$({ grep -E '^\s+Passed: [0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}' || true)
failed=$({ grep -E '^\s+Failed: [0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}' || true)
echo "tests: $passed passed, $failed failed"
exit "$status"
