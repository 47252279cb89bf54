#!/usr/bin/env bash
# Runs the test suite against real services: brings them up (installing what is missing), then dotnet test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
dotnet test Vocab.sln --nologo -c Release --logger "console;verbosity=normal" "$@"
