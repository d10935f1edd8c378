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

# One passphrase-protected ed25519 key (ssh-keygen's default KDF: bcrypt-pbkdf, 16 rounds).
mkdir -m 700 "$work/.ssh" "$work/bin"
ssh-keygen -q -t ed25519 -N 'bench pass' -C bench -f "$work/.ssh/id_ed25519"
printf '#!/bin/sh\necho "bench pass"\n' > "$work/bin/askpass" && chmod 700 "$work/bin/askpass"

# 1. OpenSSH ssh-agent holding the key (added with ssh-add).
/usr/bin/ssh-agent -D -a "$work/openssh.sock" >/dev/null 2>&1 & pids+=($!)
# 2. keymux holding the same key added with ssh-add (file backend off).
printf 'keymux.backends.files = null\n' > "$work/added.conf"
HOME="$work" XDG_CONFIG_HOME="$work/.config" java -jar "$jar" serve --config "$work/added.conf" \
  -a "$work/added/agent.sock" 2>"$work/added.log" & pids+=($!)
# 3. keymux serving the key straight from ~/.ssh (default config), passphrase via askpass.
HOME="$work" XDG_CONFIG_HOME="$work/.config" SSH_ASKPASS="$work/bin/askpass" SSH_ASKPASS_REQUIRE=force java -jar "$jar" serve \
  -a "$work/file/agent.sock" 2>"$work/file.log" & pids+=($!)
for _ in $(seq 400); do
  [ -S "$work/openssh.sock" ] && [ -S "$work/added/agent.sock" ] && [ -S "$work/file/agent.sock" ] && break
  sleep 0.05
done
export SSH_ASKPASS="$work/bin/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0
SSH_AUTH_SOCK="$work/openssh.sock" ssh-add -q "$work/.ssh/id_ed25519" </dev/null
SSH_AUTH_SOCK="$work/added/agent.sock" ssh-add -q "$work/.ssh/id_ed25519" </dev/null

java -cp "$jar" "$root/bench/SignLatency.java" "$n" ssh-ed25519 "ssh-agent=$work/openssh.sock" \
  "keymux(ssh-add)=$work/added/agent.sock" "keymux(file)=$work/file/agent.sock"
for i in 0 1 2; do
  ps -o rss= -p "${pids[$i]}" | awk -v name="$( [ $i = 0 ] && echo ssh-agent || echo keymux )" \
    '{printf "%s resident memory after the run: %.1f MiB\n", name, $1/1024}'
done
