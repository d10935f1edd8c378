#!/usr/bin/env bash
# Benchmark: what keymux costs to start and to keep, beside OpenSSH's ssh-agent on the same
# machine, same key, same run. Usage: bench/footprint.sh [SIGNS] [CLIENTS] [STARTS]
#   keymux        as `keymux install` runs it: the ExecStart of the keymux.service it writes (the
#                 newest Java here, or $KEYMUX_JAVA; keymux's JVM options; the start-up archive
#                 install makes), started by systemd-socket-activate on the first connection
#   plain JVM     the same jar as `java -jar keymux.jar serve` with the java on PATH and no
#                 options: what keymux cost before its footprint work, for comparison
#   first answer  median of STARTS (default 5) cold starts: from the first client's connect
#                 to the answer of ssh-add -l (JVM start included); ssh-agent from exec
#   idle RSS      60 s after start, default config, one ed25519 key in ~/.ssh (keymux's file
#                 backend) / added with ssh-add (ssh-agent)
#   sign speed    then p50 of 2,000 signs from one client (bench/SignLatency.java) and the rate
#                 of 20,000 signs from 4 clients (bench/SignBurst.java)
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

# The daemon's command line, from the unit `keymux install` writes for this home.
env -i PATH="$PATH" HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$work/cache" \
  ${KEYMUX_JAVA:+KEYMUX_JAVA="$KEYMUX_JAVA"} "$java_bin" -jar "$jar" install --no-enable >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; exit 1; }
exec_start="$(sed -n 's/^ExecStart=//p' "$home/.config/systemd/user/keymux.service")"
case "$exec_start" in *\"*|*\'*|*\\*) echo "footprint: quoted ExecStart not handled here: $exec_start" >&2; exit 2 ;; esac
read -ra unit_cmd <<<"$exec_start"
plain_cmd=("$java_bin" -jar "$jar" serve)

# Socket-activates CMD... on SOCK (stdout: the pid of systemd-socket-activate, which execs the daemon).
activated() {
  local sock="$1" log="$2"; shift 2
  "$activate" -l "$sock" -E HOME="$home" -E XDG_CONFIG_HOME="$home/.config" -E XDG_RUNTIME_DIR="$work/run" \
    "$@" >"$log" 2>&1 & echo $!
  for _ in $(seq 500); do [ -S "$sock" ] && break; sleep 0.01; done
}

# 1. Cold starts, the three taking turns.
km=(); pl=(); oa=()
for i in $(seq "$starts"); do
  p=$(activated "$work/km$i.sock" "$work/km$i.log" "${unit_cmd[@]}"); pids+=($p)
  t0=$(now_ms); wait_answer "$work/km$i.sock"; km+=($(( $(now_ms) - t0 )))
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  p=$(activated "$work/pl$i.sock" "$work/pl$i.log" "${plain_cmd[@]}"); pids+=($p)
  t0=$(now_ms); wait_answer "$work/pl$i.sock"; pl+=($(( $(now_ms) - t0 )))
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  t0=$(now_ms)
  /usr/bin/ssh-agent -D -a "$work/oa$i.sock" >/dev/null 2>&1 & p=$!; pids+=($p)
  wait_answer "$work/oa$i.sock"; oa+=($(( $(now_ms) - t0 )))
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
done

# 2. Idle: all three started now, asked once, then left alone for 60 s.
km_pid=$(activated "$work/km.sock" "$work/km.log" "${unit_cmd[@]}"); pids+=($km_pid)
pl_pid=$(activated "$work/pl.sock" "$work/pl.log" "${plain_cmd[@]}"); pids+=($pl_pid)
/usr/bin/ssh-agent -D -a "$work/oa.sock" >/dev/null 2>&1 & oa_pid=$!; pids+=($oa_pid)
wait_answer "$work/km.sock"; wait_answer "$work/pl.sock"; wait_answer "$work/oa.sock"
SSH_AUTH_SOCK="$work/oa.sock" ssh-add -q "$home/.ssh/id_ed25519" </dev/null
sleep 60
idle=("$(rss_mb "$km_pid")" "$(rss_mb "$pl_pid")" "$(rss_mb "$oa_pid")")

# 3. Sign speed, one agent after the other.
"$java_bin" -cp "$jar" "$root/bench/SignLatency.java" 2000 ssh-ed25519 "keymux=$work/km.sock" \
  "plain-JVM=$work/pl.sock" "ssh-agent=$work/oa.sock" >"$work/latency.txt"
burst() { "$java_bin" -cp "$jar" "$root/bench/SignBurst.java" "$1" "$2" "$3" | sed 's/.*: //'; }
four=()
for s in km pl oa; do four+=("$(burst 20000 4 "$work/$s.sock")"); done

# 4. Bursts one after another, then 60 s of quiet after the last.
rate=(); after_burst=()
for s in km pl oa; do
  pid_var="${s}_pid"
  rate+=("$(burst "$signs" "$clients" "$work/$s.sock")")
  after_burst+=("$(rss_mb "${!pid_var}")")
done
sleep 60
later=("$(rss_mb "$km_pid")" "$(rss_mb "$pl_pid")" "$(rss_mb "$oa_pid")")

row() { printf '%-36s %14s %14s %14s\n' "$@"; }
printf '\nkeymux: %s\n\n' "$exec_start"
row "" "keymux" "plain JVM" "ssh-agent"
row "first answer, median of $starts (ms)" "$(printf '%s\n' "${km[@]}" | median)" \
  "$(printf '%s\n' "${pl[@]}" | median)" "$(printf '%s\n' "${oa[@]}" | median)"
row "  all cold starts (ms)" "$(IFS=,; echo "${km[*]}")" "$(IFS=,; echo "${pl[*]}")" "$(IFS=,; echo "${oa[*]}")"
row "idle RSS after 60 s (MiB)" "${idle[@]}"
row "RSS right after the burst (MiB)" "${after_burst[@]}"
row "RSS 60 s after the burst (MiB)" "${later[@]}"
p50() { awk -v n="$1" '$1 == n { print $3 }' "$work/latency.txt"; }
row "sign p50, 1 client (us)" "$(p50 keymux)" "$(p50 plain-JVM)" "$(p50 ssh-agent)"
row "20,000 signs from 4 clients" "${four[@]}"
row "$signs signs from $clients clients" "${rate[@]}"
printf '\nsign latency (bench/SignLatency.java):\n'; cat "$work/latency.txt"
printf 'first-answer-ms=%s idle-rss-mb=%.0f burst-rss-mb=%.0f\n' "$(printf '%s\n' "${km[@]}" | median)" "${idle[0]}" "${later[0]}"
