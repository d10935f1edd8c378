#!/usr/bin/env bash
# Benchmark: the overhead keymux adds in front of an upstream agent — N ed25519 signs through
# keymux (backend type agent) vs straight to the same OpenSSH ssh-agent, same run.
# Usage: bench/upstream-latency.sh [N]
set -euo pipefail
n="${1:-1000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/cli/target/keymux.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -DskipTests -pl cli -am package)

work="$(mktemp -d /tmp/keymux-upbench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/id_ed25519"
/usr/bin/ssh-agent -D -a "$work/openssh.sock" >/dev/null 2>&1 & pids+=($!)
printf 'keymux.backends.files = null\nkeymux.backends.up { type = agent, socket = "%s" }\n' "$work/openssh.sock" > "$work/k.conf"
HOME="$work" XDG_CONFIG_HOME="$work/.config" java -jar "$jar" serve --config "$work/k.conf" -a "$work/keymux/agent.sock" \
  2>"$work/keymux.log" & pids+=($!)
for _ in $(seq 400); do [ -S "$work/openssh.sock" ] && [ -S "$work/keymux/agent.sock" ] && break; sleep 0.05; done
SSH_AUTH_SOCK="$work/openssh.sock" ssh-add -q "$work/id_ed25519"

java -cp "$jar" "$root/bench/SignLatency.java" "$n" ssh-ed25519 "ssh-agent=$work/openssh.sock" \
  "keymux->agent=$work/keymux/agent.sock"
