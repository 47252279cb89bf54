#!/usr/bin/env bash
# The scale-out tests: a three-node RabbitMQ cluster on this host (scripts/services.sh cluster up), three
# worker processes on quorum queues, a node stopped and a worker killed mid-load. Prints what the node-loss test
# measured. Stops the extra nodes afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/services.sh up
scripts/services.sh cluster up
# Thousands of requests per test: on the jongodb stand-in (no VOCAB_MONGO_URI) start from an empty one.
scripts/services.sh mongo restart
rm -f .services/cluster-report.txt .services/cluster-trace.txt
# shellcheck disable=SC1091
source .services/env
# shellcheck disable=SC1091
source .services/cluster.env
log="$root/.services/test-cluster-output.log"
set +e
# A test that hangs is stopped after 12 minutes and named (each takes about 2), rather than holding the run until CI gives up.
dotnet test Vocab.sln --nologo --blame-hang-timeout 12m --blame-hang-dump-type none -c Release --filter "Category=Cluster" --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
scripts/services.sh cluster down || true
passed=$({ grep -E '^\s+Passed: [0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}' || true)
failed=$({ grep -E '^\s+Failed: [0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}' || true)
[ -f .services/cluster-report.txt ] && cat .services/cluster-report.txt
# What each run was doing, when one failed or was stopped for hanging.
if [ "$status" -ne 0 ] && [ -f .services/cluster-trace.txt ]; then echo "--- cluster trace"; tail -n 80 .services/cluster-trace.txt; fi
echo "cluster tests - $passed passed, $failed failed"
exit "$status"
