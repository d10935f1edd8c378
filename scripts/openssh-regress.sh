#!/bin/sh
# Runs OpenSSH's own agent regress tests (Debian's openssh-tests, /usr/lib/openssh/regress) with
# keymux's ssh-agent drop-in as the agent and the system's OpenSSH binaries for everything else.
#   scripts/openssh-regress.sh [--agent PATH] [TEST ...]     default tests: agent agent-restrict
# Exit status: 0 when every test passed. Logs of a failure are printed.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
agent="$here/scripts/keymux-ssh-agent"
if [ "${1:-}" = "--agent" ]; then
  agent=$2
  shift 2
fi
[ $# -gt 0 ] || set -- agent agent-restrict
src=/usr/lib/openssh/regress
[ -f "$src/test-exec.sh" ] || { echo "openssh-regress: $src missing; apt-get install openssh-tests" >&2; exit 2; }
[ -x /usr/sbin/sshd ] || { echo "openssh-regress: /usr/sbin/sshd missing; apt-get install openssh-server" >&2; exit 2; }
mkdir -p /run/sshd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keymux-regress.XXXXXX")
# sshd puts forwarded-agent sockets in /tmp/ssh-XXXXXXXXXX (a fixed place), and the suite's
# `sshd -i` sessions leave some behind (with OpenSSH's ssh-agent too). Remove the ones this run
# made that nothing answers on, so the machine's stale-socket checks (keymux doctor) stay clean.
before="$tmp.before"
ls -d /tmp/ssh-* 2>/dev/null | sort > "$before" || true
cleanup() {
  set +e
  ls -d /tmp/ssh-* 2>/dev/null | sort | comm -13 "$before" - | while read -r d; do
    for s in "$d"/agent.*; do
      [ -S "$s" ] || continue
      SSH_AUTH_SOCK="$s" ssh-add -l >/dev/null 2>&1
      if [ $? -eq 2 ]; then rm -f "$s"; fi # 2: nobody answers
    done
    rmdir "$d" 2>/dev/null || true
  done
  rm -rf "$tmp" "$before"
}
trap cleanup EXIT INT TERM
cp -a "$src" "$tmp/regress"
tests=""
for t in "$@"; do tests="$tests $t"; done
status=0
# Same variables as Debian's run-tests, plus the agent under test.
make -C "$tmp/regress" .OBJDIR="$tmp/regress" .CURDIR="$tmp/regress" BUILDDIR="$tmp/regress" \
  OBJ="$tmp/regress" SUDO="$( [ "$(id -u)" = 0 ] || echo sudo )" TEST_SHELL=sh TEST_SSH_SSH=ssh \
  TEST_SSH_SFTPSERVER=/usr/lib/openssh/sftp-server TEST_SSH_IPV6=no TEST_SSH_ECC=yes \
  TEST_SSH_UNSAFE_PERMISSIONS=1 TEST_SSH_SSHAGENT="$agent" LTESTS="$tests" t-exec </dev/zero || status=$?
if [ "$status" -ne 0 ]; then
  for log in failed-regress.log failed-ssh.log failed-sshd.log agent.log; do
    [ -e "$tmp/regress/$log" ] && tail -n 80 "$tmp/regress/$log"
  done
fi
exit "$status"
