#!/usr/bin/env bash
# Benchmark: what a policy costs. p50/p90/p99 of N list requests (REQUEST_IDENTITIES) and of N
# ed25519 sign requests, same 8 keys (added with ssh-add), same client, same run, through
#   keymux without rules, keymux with a 50-rule policy, and OpenSSH's ssh-agent for reference.
# The policy's first 49 rules match none of the requests — each fails on a different criterion
# (fingerprint, comment, key type, backend, uid, socket, forwarding, destination, days/hours,
# client executable, name, parent, command line), many only on their last one — and the 50th
# allows; the default action is deny, so every key listed went through all 50 rules.
# A list evaluates 8 keys x 50 rules; the JVM compiles that path only after a few thousand lists,
# so with N=1000 the 50-rule list numbers still include warming up; N=5000 shows steady state.
# Usage: bench/policy-latency.sh [N]
set -euo pipefail
n="${1:-1000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/cli/target/keymux.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -DskipTests -pl cli -am package)

work="$(mktemp -d /tmp/keymux-polbench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Eight unencrypted keys, as a typical agent holds: five ed25519 (the first one signs), three ECDSA.
mkdir -m 700 "$work/keys"
for i in 1 2 3 4 5; do ssh-keygen -q -t ed25519 -N '' -C "bench-ed$i" -f "$work/keys/ed$i"; done
for i in 1 2 3; do ssh-keygen -q -t ecdsa -N '' -C "bench-ec$i" -f "$work/keys/ec$i"; done

# Both keymux instances: only the in-memory backend that ssh-add fills (no files, no GNOME).
base='keymux.backends { files = null, gnome = null }'
printf '%s\n' "$base" > "$work/none.conf"

# The 50-rule policy. Criteria are checked in a fixed order (key, uid, socket, forwarding,
# destination, time, then the client from /proc), so the "deep" rules below match the key and
# the clock first and fail only on the client: the most work a non-matching rule can cost.
{
  printf '%s\n' "$base"
  printf 'keymux.policy.default-action = deny\n'
  # A scoped socket, only so that rules can name a socket other than this one.
  printf 'keymux.sockets.unused { backends = [added] }\n'
  printf 'keymux.rules = [\n'
  for i in $(seq 1 49); do
    case $((i % 14)) in
      0) m="fingerprint = \"SHA256:$(head -c 32 /dev/urandom | base64 | tr -d '=')\"" ;;
      1) m="comment = [\"deploy-$i-*\", \"ci-$i@*\"]" ;;
      2) m="key-type = [\"ssh-rsa\", \"*-cert-v01@openssh.com\"]" ;;
      3) m="backend = tokens" ;;
      4) m="uid = [$((40000 + i)), $((50000 + i))]" ;;
      5) m="socket = unused" ;;
      6) m="forwarded = true, comment = \"bench-*\"" ;;
      7) m="destination = [\"host$i.corp.example\", \"*.build$i.example\"]" ;;
      8) m="comment = \"bench-*\", hours = \"00:00-23:59\", client-exe = \"/usr/bin/ssh\"" ;;
      9) m="key-type = \"*\", days = [mon, tue, wed, thu, fri, sat, sun], client-name = [git, \"ssh-keygen\"]" ;;
      10) m="comment = \"bench-*\", client-parent = \"*/no-such-parent-$i\"" ;;
      11) m="comment = \"bench-*\", client-cmdline = \"*git-upload-pack*repo$i*\"" ;;
      12) m="comment = \"bench-*\", client-exe = [\"/usr/local/bin/tool$i\", \"/opt/*/bin/tool$i\"]" ;;
      13) m="comment = \"bench-*\", uid = $(id -u), client-name = \"tool$i\"" ;;
    esac
    action=(allow deny hide confirm)
    printf '  { name = "rule %d", match { %s }, action = %s }\n' "$i" "$m" "${action[$((i % 4))]}"
  done
  printf '  { name = "rule 50", match { comment = "bench-*" }, action = allow }\n]\n'
} > "$work/rules.conf"
java -jar "$jar" policy check "$work/rules.conf" >/dev/null

/usr/bin/ssh-agent -D -a "$work/openssh.sock" >/dev/null 2>&1 & pids+=($!)
for name in none rules; do
  HOME="$work" XDG_CONFIG_HOME="$work/.config" java -jar "$jar" serve --config "$work/$name.conf" \
    -a "$work/$name/agent.sock" 2>"$work/$name.log" & pids+=($!)
done
for _ in $(seq 400); do
  [ -S "$work/openssh.sock" ] && [ -S "$work/none/agent.sock" ] && [ -S "$work/rules/agent.sock" ] && break
  sleep 0.05
done
for sock in "$work/openssh.sock" "$work/none/agent.sock" "$work/rules/agent.sock"; do
  SSH_AUTH_SOCK="$sock" ssh-add -q "$work"/keys/ed? "$work"/keys/ec? </dev/null 2>/dev/null
  listed="$(SSH_AUTH_SOCK="$sock" ssh-add -l | wc -l)"
  [ "$listed" = 8 ] || { echo "policy-latency: $sock lists $listed keys, not 8" >&2; exit 1; }
done

agents=("ssh-agent=$work/openssh.sock" "keymux=$work/none/agent.sock" "keymux+50rules=$work/rules/agent.sock")
java -cp "$jar" "$root/bench/SignLatency.java" "$n" list "${agents[@]}"
echo
java -cp "$jar" "$root/bench/SignLatency.java" "$n" ssh-ed25519 "${agents[@]}"
