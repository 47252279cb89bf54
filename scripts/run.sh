#!/usr/bin/env bash
# Runs Vocab on this machine: brings up RabbitMQ and MongoDB (installing what is missing), then the worker.
# Set the secrets first (see README: Configuration), e.g. Jwt__Keys__0__Secret and Llm__ApiKey.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
export ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-$VOCAB_RABBITMQ_URI}"
export ConnectionStrings__Mongo="${ConnectionStrings__Mongo:-$VOCAB_MONGO_URI}"
exec dotnet run --project src/Worker -c Release
