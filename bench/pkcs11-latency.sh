#!/usr/bin/env bash
# Benchmark: sign latency per key type on one SoftHSM2 token, through keymux (ssh-add -s) and
# through OpenSSH's ssh-agent (ssh-add -s), same token, same client, same run.
# Usage: bench/pkcs11-latency.sh [N]   (needs softhsm2 and opensc)
set -euo pipefail
n="${1:-1000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/cli/target/keymux.jar"
module=/usr/lib/softhsm/libsofthsm2.so
[ -f "$jar" ] || (cd "$root" && mvn -q -B -DskipTests -pl cli -am package)

work="$(mktemp -d /tmp/keymux-p11bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
softhsm2-util --init-token --free --label bench --so-pin 87654321 --pin 123456 >/dev/null
i=1
for kt in rsa:2048 EC:prime256v1 EC:secp384r1 EC:edwards25519; do
  pkcs11-tool --module "$module" --token-label bench --login --pin 123456 --keypairgen --key-type "$kt" --id "0$i" --label "k$i" >/dev/null 2>&1
  i=$((i + 1))
done
printf '#!/bin/sh\necho 123456\n' > "$work/askpass" && chmod 700 "$work/askpass"

/usr/bin/ssh-agent -D -a "$work/openssh.sock" >/dev/null 2>&1 & pids+=($!)
printf 'keymux.backends.files = null\n' > "$work/k.conf"
HOME="$work" XDG_CONFIG_HOME="$work/.config" java -jar "$jar" serve --config "$work/k.conf" -a "$work/keymux/agent.sock" \
  2>"$work/keymux.log" & pids+=($!)
for _ in $(seq 400); do [ -S "$work/openssh.sock" ] && [ -S "$work/keymux/agent.sock" ] && break; sleep 0.05; done
export SSH_ASKPASS="$work/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0
SSH_AUTH_SOCK="$work/openssh.sock" ssh-add -q -s "$module" </dev/null
SSH_AUTH_SOCK="$work/keymux/agent.sock" ssh-add -q -s "$module" </dev/null

for type in ssh-rsa ecdsa-sha2-nistp256 ecdsa-sha2-nistp384; do
  java -cp "$jar" "$root/bench/SignLatency.java" "$n" "$type" "ssh-agent=$work/openssh.sock" "keymux=$work/keymux/agent.sock"
done
# OpenSSH 9.2's ssh-add -s skips Ed25519 token keys; keymux alone:
java -cp "$jar" "$root/bench/SignLatency.java" "$n" ssh-ed25519 "keymux=$work/keymux/agent.sock"
