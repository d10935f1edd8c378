#!/usr/bin/env bash
# Benchmark: p50/p90/p99 latency of N ed25519 sign requests through keymux and through
# OpenSSH's ssh-agent, same key, same client, same run. Usage: bench/sign-latency.sh [N]
set -euo pipefail
n="${1:-1000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/cli/target/keymux.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -DskipTests -pl cli -am package)

work="$(mktemp -d /tmp/keymux-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/id_ed25519"
/usr/bin/ssh-agent -D -a "$work/openssh.sock" >/dev/null 2>&1 & pids+=($!)
HOME="$work" XDG_CONFIG_HOME="$work/.config" java -jar "$jar" serve -a "$work/keymux/agent.sock" 2>"$work/keymux.log" & pids+=($!)
for _ in $(seq 200); do [ -S "$work/openssh.sock" ] && [ -S "$work/keymux/agent.sock" ] && break; sleep 0.05; done
SSH_AUTH_SOCK="$work/openssh.sock" ssh-add -q "$work/id_ed25519"
SSH_AUTH_SOCK="$work/keymux/agent.sock" ssh-add -q "$work/id_ed25519"

java -cp "$jar" "$root/bench/SignLatency.java" "$n" "ssh-agent=$work/openssh.sock" "keymux=$work/keymux/agent.sock"
ps -o rss=,comm= -p "${pids[1]}" | awk '{printf "keymux resident memory after the run: %.1f MiB\n", $1/1024}'
ps -o rss=,comm= -p "${pids[0]}" | awk '{printf "ssh-agent resident memory after the run: %.1f MiB\n", $1/1024}'
