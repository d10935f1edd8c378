#!/usr/bin/env bash
# Benchmark: sign latency of a FIDO security key (OpenSSH's dummy authenticator sk-dummy.so from
# openssh-tests, no touch) held by keymux and by OpenSSH's ssh-agent, same key, same client, same
# run. Both run OpenSSH's ssh-sk-helper once per signature. Usage: bench/sk-sign-latency.sh [N]
# Last line: sk sign p50: keymux X ms, ssh-agent Y ms
set -euo pipefail
n="${1:-200}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/cli/target/keymux.jar"
skd=/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so
[ -f "$skd" ] || { echo "sk-sign-latency: $skd missing (apt-get install openssh-tests)" >&2; exit 2; }
[ -f "$jar" ] || (cd "$root" && mvn -q -B -DskipTests -pl cli -am package)

work="$(mktemp -d /tmp/keymux-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -m 700 "$work/home"
ssh-keygen -q -t ed25519-sk -w "$skd" -N '' -C bench-sk -f "$work/id_ed25519_sk"

/usr/bin/ssh-agent -D -a "$work/openssh.sock" -P '/usr/lib/openssh/regress/*' >/dev/null 2>&1 & pids+=($!)
printf 'keymux.backends.files = null\n' > "$work/added.conf"
HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" java -jar "$jar" serve --config "$work/added.conf" \
  -P '/usr/lib/openssh/regress/*' -a "$work/keymux.sock" 2>"$work/keymux.log" & pids+=($!)
for _ in $(seq 400); do [ -S "$work/openssh.sock" ] && [ -S "$work/keymux.sock" ] && break; sleep 0.05; done
for s in openssh keymux; do SSH_AUTH_SOCK="$work/$s.sock" SSH_SK_PROVIDER="$skd" ssh-add -q "$work/id_ed25519_sk"; done

out=$(java -cp "$jar" "$root/bench/SignLatency.java" "$n" sk-ssh-ed25519@openssh.com \
  "ssh-agent=$work/openssh.sock" "keymux=$work/keymux.sock")
echo "$out"
p50() { echo "$out" | awk -v a="$1" '$1 == a {printf "%.1f", $3 / 1000}'; }
echo "sk sign p50: keymux $(p50 keymux) ms, ssh-agent $(p50 ssh-agent) ms"
