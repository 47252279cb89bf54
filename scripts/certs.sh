#!/usr/bin/env bash
# Makes a local certificate authority and certificates for RabbitMQ (broker), the HTTP bridge (bridge), MongoDB (mongo)
# and a client certificate for mutual TLS (client), with openssl. Idempotent: existing files are kept.
# Usage: scripts/certs.sh [--renew] [dir]     default dir: .services/certs
#   --renew   issues new leaf certificates from the same CA (rotation; the CA stays, so clients need no change)
#   --new-ca  also makes a new CA (clients must then trust the new ca.pem)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
renew=0; new_ca=0
while [ $# -gt 0 ]; do
  case "$1" in
    --renew) renew=1; shift ;;
    --new-ca) renew=1; new_ca=1; shift ;;
    *) break ;;
  esac
done
dir="${1:-$root/.services/certs}"
mkdir -p "$dir"
cd "$dir"
if ! command -v openssl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi
days=825
if [ "$new_ca" = 1 ]; then rm -f ca.pem ca.key ca.srl; fi
if [ "$renew" = 1 ]; then rm -f broker.* bridge.* mongo.* client.*; fi

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=Vocab local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout ca.key -out ca.pem 2>/dev/null
  echo "[certs] new CA: $dir/ca.pem" >&2
fi

issue() {
  local name="$1" sans="$2"
  [ -f "$name.pem" ] && return
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$name" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$sans" > "$name.ext"
  openssl x509 -req -sha256 -days "$days" -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  echo "[certs] issued $name.pem ($sans)" >&2
}
issue broker "DNS:localhost,DNS:rabbitmq,DNS:rabbitmq-1,DNS:rabbitmq-2,DNS:rabbitmq-3,IP:127.0.0.1"
issue bridge "DNS:localhost,DNS:bridge,DNS:bridge-1,DNS:bridge-2,IP:127.0.0.1"
issue mongo "DNS:localhost,DNS:mongo,DNS:mongo-1,DNS:mongo-2,DNS:mongo-3,IP:127.0.0.1"
issue client "DNS:vocab-client"
# mongod wants the certificate and its key in one file.
[ -f mongo-combined.pem ] || cat mongo.pem mongo.key > mongo-combined.pem
# Local development keys: readable by the broker and by containers' non-root users.
chmod 644 ./*.pem ./*.key
chmod 600 ca.key
echo "$dir"
