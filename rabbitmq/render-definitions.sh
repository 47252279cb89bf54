#!/usr/bin/env bash
# Renders rabbitmq/definitions.json for a broker that loads definitions at boot (docker compose), where no password can
# be written into the file itself:
# - each declared account (vocab-publisher, vocab-worker, ...) gets the hash of RABBITMQ_<ROLE>_PASSWORD
#   (vocab-worker -> RABBITMQ_WORKER_PASSWORD); a missing one stops the render, naming the variable;
# - the administrator RABBITMQ_USER / RABBITMQ_PASSWORD (management UI) is added, with every permission on vhost /:
#   a broker that loads definitions at boot creates no default user.
# Writes <out-dir>/definitions.json (everything) and <out-dir>/accounts.json (virtual host, users and permissions only:
# the cluster profile's workers declare their own quorum queues).
# Usage: rabbitmq/render-definitions.sh <definitions.json> <out-dir>
set -euo pipefail

in="${1:?usage: render-definitions.sh <definitions.json> <out-dir>}"
out="${2:?usage: render-definitions.sh <definitions.json> <out-dir>}"
admin="${RABBITMQ_USER:?set RABBITMQ_USER (the broker administrator)}"
admin_password="${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD (the broker administrator password)}"
if ! [[ "$admin" =~ ^[A-Za-z0-9._-]+$ ]]; then echo "RABBITMQ_USER may use letters, digits, '.', '_' and '-' only" >&2; exit 2; fi
command -v openssl >/dev/null || { echo "render-definitions.sh needs openssl" >&2; exit 2; }

# RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)) with a random 4-byte salt.
password_hash() {
  local tmp; tmp="$(mktemp -d)"
  head -c 4 /dev/urandom > "$tmp/salt"
  { cat "$tmp/salt"; printf '%s' "$1"; } | openssl dgst -sha256 -binary > "$tmp/digest"
  cat "$tmp/salt" "$tmp/digest" | openssl base64 -A
  rm -rf "$tmp"
}

user_pattern='^(.*"name": *"(vocab-[a-z]+)", *"password_hash": *")(".*)$'
rendered=()
while IFS= read -r line || [ -n "$line" ]; do
  if [[ "$line" =~ $user_pattern ]]; then
    role="${BASH_REMATCH[2]#vocab-}"
    variable="RABBITMQ_${role^^}_PASSWORD"
    password="${!variable:-}"
    if [ -z "$password" ]; then echo "set $variable (the ${BASH_REMATCH[2]} broker account's password)" >&2; exit 2; fi
    line="${BASH_REMATCH[1]}$(password_hash "$password")${BASH_REMATCH[3]}"
  fi
  rendered+=("$line")
  case "$line" in
    '  "users": [')
      rendered+=("    { \"name\": \"$admin\", \"password_hash\": \"$(password_hash "$admin_password")\", \"hashing_algorithm\": \"rabbit_password_hashing_sha256\", \"tags\": [\"administrator\"] },") ;;
    '  "permissions": [')
      rendered+=("    { \"user\": \"$admin\", \"vhost\": \"/\", \"configure\": \".*\", \"write\": \".*\", \"read\": \".*\" },") ;;
  esac
done < "$in"

mkdir -p "$out"
printf '%s\n' "${rendered[@]}" > "$out/definitions.json.tmp"
# accounts.json: everything before the topology ("exchanges" onward), the permissions list closed as the last member.
accounts=()
for line in "${rendered[@]}"; do
  [ "$line" = '  "exchanges": [' ] && break
  accounts+=("$line")
done
last=$((${#accounts[@]} - 1))
[ "${accounts[$last]}" = '  ],' ] || { echo "$in: expected vhosts, users and permissions before \"exchanges\"" >&2; exit 2; }
accounts[last]='  ]'
printf '%s\n' "${accounts[@]}" '}' > "$out/accounts.json.tmp"
chmod 644 "$out/definitions.json.tmp" "$out/accounts.json.tmp"
mv "$out/definitions.json.tmp" "$out/definitions.json"
mv "$out/accounts.json.tmp" "$out/accounts.json"
echo "rendered $out/definitions.json and $out/accounts.json" >&2
