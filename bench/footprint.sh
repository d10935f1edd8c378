#!/usr/bin/env bash
# Benchmark: what keymux costs to start and to keep, beside OpenSSH's ssh-agent on the same
# machine, same key, same run. Usage: bench/footprint.sh [SIGNS] [CLIENTS] [STARTS]
#   first answer  median of STARTS (default 5) cold starts: keymux socket-activated by
#                 systemd-socket-activate (the JVM starts on the first connection), ssh-agent from
#                 exec to the first answered ssh-add -l
#   idle RSS      60 s after start, default config, one ed25519 key in ~/.ssh (keymux's file
#                 backend) / added with ssh-add (ssh-agent)
#   burst RSS     right after SIGNS (default 100000) signs from CLIENTS (default 8) clients, and
#                 again 60 s later
# Last line: first-answer-ms=N idle-rss-mb=N burst-rss-mb=N (keymux's; burst = 60 s after).
set -euo pipefail
signs="${1:-100000}"
clients="${2:-8}"
starts="${3:-5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/cli/target/keymux.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -DskipTests -pl cli -am package)
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
activate=/usr/bin/systemd-socket-activate
[ -x "$activate" ] || { echo "footprint: $activate missing (apt-get install systemd)" >&2; exit 2; }

work="$(mktemp -d /tmp/keymux-footprint.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

home="$work/home"
mkdir -p -m 700 "$home/.ssh" "$work/run"
ssh-keygen -q -t ed25519 -N '' -C footprint -f "$home/.ssh/id_ed25519"
now_ms() { date +%s%3N; }
rss_mb() { ps -o rss= -p "$1" | awk '{printf "%.1f", $1/1024}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
answered() { SSH_AUTH_SOCK="$1" ssh-add -l >/dev/null 2>&1; [ $? -le 1 ]; }
wait_answer() { for _ in $(seq 2000); do answered "$1" && return 0; sleep 0.01; done; echo "footprint: $1 never answered" >&2; exit 1; }

keymux_env=(HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_RUNTIME_DIR="$work/run")

# 1. Cold starts.
km_first=(); oa_first=()
for i in $(seq "$starts"); do
  sock="$work/act$i.sock"
  "$activate" -l "$sock" -E HOME="$home" -E XDG_CONFIG_HOME="$home/.config" -E XDG_RUNTIME_DIR="$work/run" \
    "$java_bin" -jar "$jar" serve >"$work/act$i.log" 2>&1 & p=$!; pids+=($p)
  for _ in $(seq 500); do [ -S "$sock" ] && break; sleep 0.01; done
  t0=$(now_ms); wait_answer "$sock"; km_first+=($(( $(now_ms) - t0 )))
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  t0=$(now_ms)
  /usr/bin/ssh-agent -D -a "$work/oa$i.sock" >/dev/null 2>&1 & p=$!; pids+=($p)
  wait_answer "$work/oa$i.sock"; oa_first+=($(( $(now_ms) - t0 )))
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
done
km_first_ms=$(printf '%s\n' "${km_first[@]}" | median)
oa_first_ms=$(printf '%s\n' "${oa_first[@]}" | median)

# 2. Idle: both started now, asked once, then left alone for 60 s.
env "${keymux_env[@]}" "$java_bin" -jar "$jar" serve -a "$work/km.sock" >"$work/km.log" 2>&1 & km=$!; pids+=($km)
/usr/bin/ssh-agent -D -a "$work/oa.sock" >/dev/null 2>&1 & oa=$!; pids+=($oa)
wait_answer "$work/km.sock"; wait_answer "$work/oa.sock"
SSH_AUTH_SOCK="$work/oa.sock" ssh-add -q "$home/.ssh/id_ed25519" </dev/null
sleep 60
km_idle=$(rss_mb "$km"); oa_idle=$(rss_mb "$oa")

# 3. Burst, then 60 s of quiet.
km_rate=$("$java_bin" -cp "$jar" "$root/bench/SignBurst.java" "$signs" "$clients" "$work/km.sock")
oa_rate=$("$java_bin" -cp "$jar" "$root/bench/SignBurst.java" "$signs" "$clients" "$work/oa.sock")
km_burst=$(rss_mb "$km"); oa_burst=$(rss_mb "$oa")
sleep 60
km_after=$(rss_mb "$km"); oa_after=$(rss_mb "$oa")

printf '\n%-34s %14s %14s\n' "" "keymux" "ssh-agent"
printf '%-34s %14s %14s\n' "first answer, median of $starts (ms)" "$km_first_ms" "$oa_first_ms"
printf '%-34s %14s %14s\n' "  all cold starts (ms)" "$(IFS=,; echo "${km_first[*]}")" "$(IFS=,; echo "${oa_first[*]}")"
printf '%-34s %14s %14s\n' "idle RSS after 60 s (MiB)" "$km_idle" "$oa_idle"
printf '%-34s %14s %14s\n' "RSS right after the burst (MiB)" "$km_burst" "$oa_burst"
printf '%-34s %14s %14s\n' "RSS 60 s after the burst (MiB)" "$km_after" "$oa_after"
printf 'burst: keymux %s\n       ssh-agent %s\n' "$km_rate" "$oa_rate"
printf 'first-answer-ms=%s idle-rss-mb=%.0f burst-rss-mb=%.0f\n' "$km_first_ms" "$km_idle" "$km_after"
