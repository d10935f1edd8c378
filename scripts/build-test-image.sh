#!/usr/bin/env bash
# Builds the local Docker test image from this machine's own binaries — no registry needed:
# static busybox, the host's OpenSSH client tools and sshd, and the libraries they link.
# Image name: $KEYMUX_TEST_IMAGE (default keymux-test:latest). Idempotent: skips the build when an
# image with the same content hash exists.
set -euo pipefail
image="${KEYMUX_TEST_IMAGE:-keymux-test:latest}"
docker=/usr/bin/docker   # Debian's client matches Debian's engine API
bins=(/usr/bin/ssh /usr/bin/ssh-add /usr/bin/ssh-keygen /usr/bin/ssh-agent /usr/sbin/sshd)

for b in /bin/busybox "${bins[@]}"; do
  [ -x "$b" ] || { echo "build-test-image: $b missing (apt-get install busybox-static openssh-client openssh-server)" >&2; exit 1; }
done

hash="$(sha256sum /bin/busybox "${bins[@]}" "$0" | sha256sum | cut -c1-16)"
if [ "$($docker image inspect -f '{{index .Config.Labels "keymux.hash"}}' "$image" 2>/dev/null || true)" = "$hash" ]; then
  echo "build-test-image: $image is up to date ($hash)"
  exit 0
fi

root="$(mktemp -d /tmp/keymux-image.XXXXXX)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home/tester,tmp,run/sshd,var/empty,dev,proc,sys}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
for b in "${bins[@]}"; do
  cp "$b" "$root$b"
  # every shared library and the dynamic loader, at the same paths as on the host
  for lib in $(ldd "$b" | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534:sshd:/run/sshd:/bin/false
tester:x:1000:1000:tester:/home/tester:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
tester:x:1000:
nogroup:x:65534:
GROUP
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"

tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
  | $docker import -c 'CMD ["/bin/sh"]' -c "LABEL keymux.hash=$hash" - "$image" >/dev/null
# The tester's home must belong to uid 1000 inside the image; fix it in a throwaway layer-free way:
cid="$($docker create --network none "$image" /bin/sh -c 'chown 1000:1000 /home/tester')"
$docker start -a "$cid" >/dev/null
$docker commit -c 'CMD ["/bin/sh"]' -c "LABEL keymux.hash=$hash" "$cid" "$image" >/dev/null
$docker rm "$cid" >/dev/null

$docker run --rm --network none "$image" ssh -V
echo "build-test-image: built $image ($($docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}'))"
