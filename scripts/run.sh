#!/usr/bin/env bash
# Runs Vocab on this machine: brings up RabbitMQ and MongoDB (installing what is missing), then the worker and the
# HTTP bridge (http://127.0.0.1:8080). Ctrl-C stops both.
# Secrets come from the environment (see docs/configuration.md); when none are set, a development JWT key is generated
# once into .services/dev.env (scripts/dev-env.sh) and the LLM key defaults to a placeholder for a local Ollama.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v dotnet >/dev/null || { echo "[$(basename "$0" .sh)] needs the .NET 10 SDK (dotnet): https://dotnet.microsoft.com/download/dotnet/10.0" >&2; exit 1; }
export Llm__ApiKey="${Llm__ApiKey:-ollama}"
# Say first whether there is an LLM to talk to: without one every request ends as llm_unavailable.
llm="${Llm__Endpoint:-http://127.0.0.1:11434/v1}"
if ! command -v curl >/dev/null; then
  echo "[run] LLM endpoint $llm (Llm:Endpoint) not checked: curl is not installed yet (scripts/services.sh installs it)" >&2
elif curl -fsS -m 5 -H "Authorization: Bearer $Llm__ApiKey" "${llm%/}/models" >/dev/null 2>&1; then
  echo "[run] LLM endpoint $llm (Llm:Endpoint) answered; model ${Llm__Model:-llama3.1} (Llm:Model)" >&2
else
  echo "[run] LLM endpoint $llm (Llm:Endpoint) did not answer: set Llm__Endpoint, Llm__Model and Llm__ApiKey" \
    "(OpenAI https://api.openai.com/v1, Ollama http://127.0.0.1:11434/v1, vLLM http://host:8000/v1); starting anyway" >&2
fi
scripts/services.sh up
# The services' addresses, the development JWT key and plaintext on loopback: the settings scripts/vocabctl uses too.
# shellcheck disable=SC1091
source scripts/dev-env.sh
if [ "$ConnectionStrings__Mongo" = "mongodb://127.0.0.1:${VOCAB_MONGO_PORT:-27018}" ]; then
  echo "[run] MongoDB is the embedded stand-in (jongodb): it keeps nothing across a restart (API keys, usage, results," \
    "revocations); for data that lasts, run a real MongoDB and start with VOCAB_MONGO_URI=mongodb://host:27017 scripts/run.sh" >&2
fi
export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://127.0.0.1:8080}"

dotnet build Vocab.sln -c Release --nologo -v quiet
# Least privilege locally too: the worker as vocab-worker, the bridge as vocab-bridge (rabbitmq/definitions.json).
ConnectionStrings__RabbitMq="${VOCAB_RABBITMQ_GIVEN:-${VOCAB_RABBITMQ_WORKER_URI:-$ConnectionStrings__RabbitMq}}" \
  dotnet run --project src/Worker -c Release --no-build &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
echo "[run] worker started (pid $worker); bridge on $ASPNETCORE_URLS" >&2
ConnectionStrings__RabbitMq="${VOCAB_RABBITMQ_GIVEN:-${VOCAB_RABBITMQ_BRIDGE_URI:-$ConnectionStrings__RabbitMq}}" \
  dotnet run --project src/HttpBridge -c Release --no-build
