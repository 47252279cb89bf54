#!/usr/bin/env bash
# Runs every benchmark against the real services and writes docs/benchmarks.md (a few minutes).
# Never part of the test run. Pass parts to run only some: micro latency e2e e2e-process e2e-inprocess bridge tls llm flood mongo ops cluster fairness (a run of some
# parts replaces only their sections of the report); --messages N, --rounds N; --quick for a developer's check in under
# two minutes. The cluster part starts two more RabbitMQ nodes on this host and stops them afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/services.sh up
# Each run on a fresh stand-in (jongodb keeps every database it was given and slows as it grows); a real MongoDB named
# by VOCAB_MONGO_URI is left alone.
scripts/services.sh mongo restart
# shellcheck disable=SC1091
source .services/env
# --quick (under two minutes) writes .services/benchmarks-quick.md; only a full run rewrites the report.
out="$root/docs/benchmarks.md"
for arg in "$@"; do [ "$arg" = "--quick" ] && out="$root/.services/benchmarks-quick.md"; done
# The scale-out part needs the three-node cluster: in a full run, or when asked for by name.
cluster=yes
for arg in "$@"; do
  case "$arg" in
    micro|latency|e2e|e2e-process|e2e-inprocess|bridge|tls|llm|flood|mongo|ops|fairness|--quick) cluster=no ;;
  esac
done
for arg in "$@"; do [ "$arg" = "cluster" ] && cluster=yes; done
if [ "$cluster" = yes ]; then
  scripts/services.sh cluster up
  # shellcheck disable=SC1091
  source .services/cluster.env
  trap 'scripts/services.sh cluster down || true' EXIT
fi
dotnet run -c Release --project bench/Vocab.Benchmarks -- --out "$out" "$@"
