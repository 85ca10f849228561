#!/usr/bin/env bash
# Runs one command as root inside a throw-away QEMU guest whose kernel has SCTP. The tests
# labelled `sctp` need kernel SCTP, which many machines (and CI containers) lack; this is how
# scripts/test.sh runs them anyway. Everything comes from Debian: the guest kernel is the
# archive's linux-image package (fetched with `apt-get download`, unpacked here, never
# installed), its shell is busybox-static, its userland is the host's own filesystem.
#
# Usage:
#   scripts/sctp-vm.sh setup                  fetch the kernel, build the initramfs (idempotent)
#   scripts/sctp-vm.sh [options] -- CMD [ARG...]
# Options:
#   --rw DIR        a host directory the guest may write, at the same path (repeatable)
#   --cd DIR        the command's working directory (default: the current one)
#   --timeout SECS  limit for the whole guest, boot included (default 900)
#   --mem MB        guest memory (default 1024)
#   --cpus N        guest CPUs (default 1)
#   --accel A       tcg | kvm (default: kvm when /dev/kvm runs stock kernels, else tcg)
#   --console       copy the guest kernel's console to stderr (boot problems)
#   -h, --help
#
# Inside the guest: the host's / read-only (9p), with a tmpfs over it, so writes outside the
# --rw directories seem to work and vanish at power-off; fresh /proc, /sys, /dev, /run; the
# loopback interface only; modules sctp and veth loaded, others by `modprobe` or on demand. The
# command runs with a clean environment (PATH, HOME=/root, TERM=dumb, LANG=C.UTF-8) and
# stdin /dev/null; its stdout and stderr, merged, come out on this script's stdout.
# Exit status: the command's; 124 the guest hit --timeout; 125 the guest did not run it
# (not set up, no boot: the run directory with the guest's console log is kept and named).
#
# State: $RSPLAB_SCTP_VM_DIR (default /var/tmp/rsplab-sctp-vm): kernel/ (the unpacked
# package), initramfs.gz, runs/ (one directory per guest). Pin the kernel package with
# RSPLAB_SCTP_VM_KERNEL=linux-image-6.1.0-NN-amd64 (default: what linux-image-amd64 names).
# Needs the packages of scripts/setup.sh (qemu-system-x86, busybox-static, kmod).
set -euo pipefail

STATE=${RSPLAB_SCTP_VM_DIR:-/var/tmp/rsplab-sctp-vm}
# Modules the initramfs loads to reach the host's files; their dependencies come along.
EARLY_MODULES=(virtio_pci 9pnet_virtio 9p overlay)
GUEST_MODULES="sctp veth"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
fail() { echo "sctp-vm: $*" >&2; exit 125; }
need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 \
      || fail "$c not found: run scripts/setup.sh (as root)"
  done
}

# ------------------------------------------------------------------ setup
kernel_package() {
  local pick='/Depends: linux-image-[0-9]/ && !found++ { print $2 }'  # reads to the end: no SIGPIPE
  if [ -n "${RSPLAB_SCTP_VM_KERNEL:-}" ]; then echo "$RSPLAB_SCTP_VM_KERNEL"; return; fi
  local p; p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk "$pick")
  if [ -z "$p" ]; then apt-get update -qq >&2; p=$(apt-cache depends linux-image-amd64 | awk "$pick"); fi
  [ -n "$p" ] || fail "cannot tell which linux-image package linux-image-amd64 names"
  echo "$p"
}

# Unpacks the kernel package into $STATE/kernel (once per package) and indexes its modules.
fetch_kernel() {
  local pkg=$1
  if [ "$(cat "$STATE/kernel/PACKAGE" 2>/dev/null)" = "$pkg" ]; then
    echo "sctp-vm: kernel $pkg already unpacked"; return
  fi
  mkdir -p "$STATE/download"
  rm -f "$STATE"/download/*.deb
  chown _apt "$STATE/download" 2>/dev/null || true  # apt fetches as _apt when it can
  echo "sctp-vm: apt-get download $pkg"
  (cd "$STATE/download" && apt-get download -q "$pkg")
  rm -rf "$STATE/kernel.new"
  dpkg-deb -x "$STATE"/download/*.deb "$STATE/kernel.new"
  local kver; kver=$(ls "$STATE/kernel.new/lib/modules")
  [ -n "$(find "$STATE/kernel.new/lib/modules/$kver" -name 'sctp.ko*' -print -quit)" ] \
    || fail "$pkg has no sctp module"
  PATH=$PATH:/usr/sbin:/sbin depmod -b "$STATE/kernel.new" "$kver"
  echo "$kver" > "$STATE/kernel.new/KVER"
  echo "$pkg" > "$STATE/kernel.new/PACKAGE"
  rm -rf "$STATE/kernel" "$STATE"/download/*.deb
  mv "$STATE/kernel.new" "$STATE/kernel"
}

# PID 1 of the guest (busybox sh in the initramfs). It mounts the host's / under a tmpfs
# overlay at /guest, the job directory at /job, then runs /job/cmd.sh chrooted into /guest
# with its output on the second serial port, writes the exit status to /job/rc, powers off.
guest_init() {
  cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
halt_now() { echo "sctp-vm guest: $*" > /dev/ttyS0; sync; poweroff -f; }
mkdir -p /proc /sys /dev /host /scratch /guest /job
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs dev /dev
for m in $(cat /modules/ORDER); do insmod "/modules/$m" || halt_now "insmod $m failed"; done
NINEP=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "ro,cache=loose,$NINEP" host /host || halt_now "cannot mount the host's /"
mount -t 9p -o "cache=none,$NINEP" job /job || halt_now "cannot mount the job directory"
mount -t tmpfs -o mode=755 scratch /scratch && mkdir /scratch/up /scratch/work
mount -t overlay -o lowerdir=/host,upperdir=/scratch/up,workdir=/scratch/work guest /guest \
  || halt_now "cannot mount the overlay"
for d in proc sys dev run; do mkdir -p "/guest/$d"; done
mount -t proc proc /guest/proc && mount -t sysfs sysfs /guest/sys
mount -t devtmpfs dev /guest/dev && mkdir -p /guest/dev/pts /guest/dev/shm
mount -t devpts devpts /guest/dev/pts && mount -t tmpfs shm /guest/dev/shm
mount -t tmpfs -o mode=755 run /guest/run
KVER=$(uname -r)
mkdir -p "/guest/lib/modules/$KVER"
mount --bind "/guest$(cat /job/moddir)" "/guest/lib/modules/$KVER" || halt_now "no modules"
while read -r tag dir; do
  [ -n "$tag" ] || continue
  mkdir -p "/guest$dir" && mount -t 9p -o "cache=none,$NINEP" "$tag" "/guest$dir" \
    || halt_now "cannot mount $dir"
done < /job/rw
hostname sctp-vm
ip link set lo up
for m in $(cat /job/modules); do chroot /guest /sbin/modprobe "$m" || halt_now "modprobe $m failed"; done
# Modules the kernel loads on demand (bridge for `ip link add type bridge`, nf_tables, ...):
# its helper runs outside the chroot, so it gets a modprobe that steps into it.
printf '#!/bin/sh\nexec chroot /guest /sbin/modprobe "$@"\n' > /bin/guest-modprobe
chmod 755 /bin/guest-modprobe && echo /bin/guest-modprobe > /proc/sys/kernel/modprobe
cp /job/cmd.sh /guest/run/sctp-vm-cmd.sh
stty -F /dev/ttyS1 raw -echo
chroot /guest /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root TERM=dumb LANG=C.UTF-8 /bin/bash /run/sctp-vm-cmd.sh </dev/null >/dev/ttyS1 2>&1
echo $? > /job/rc
sync
poweroff -f
EOF
}

build_initramfs() {
  local kver; kver=$(cat "$STATE/kernel/KVER")
  local tree="$STATE/initramfs.d" m f
  rm -rf "$tree"; mkdir -p "$tree/bin" "$tree/modules"
  cp "$(command -v busybox)" "$tree/bin/busybox"
  : > "$tree/modules/ORDER"
  for m in "${EARLY_MODULES[@]}"; do
    PATH=$PATH:/usr/sbin:/sbin modprobe -d "$STATE/kernel" -S "$kver" --show-depends "$m" \
      | awk '$1 == "insmod" { print $2 }'
  done | while read -r f; do
    grep -qxF "$(basename "$f")" "$tree/modules/ORDER" && continue
    cp "$f" "$tree/modules/"; basename "$f" >> "$tree/modules/ORDER"
  done
  guest_init > "$tree/init"; chmod 755 "$tree/init"
  (cd "$tree" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -6) > "$STATE/initramfs.gz.new"
  mv "$STATE/initramfs.gz.new" "$STATE/initramfs.gz"
  rm -rf "$tree"
  echo "sctp-vm: ready: kernel $kver, initramfs $STATE/initramfs.gz"
}

setup() {
  need qemu-system-x86_64 busybox depmod modprobe dpkg-deb apt-get
  busybox true || fail "busybox does not run"
  mkdir -p "$STATE/runs"
  fetch_kernel "$(kernel_package)"
  build_initramfs
}

# ------------------------------------------------------------------ run
pick_accel() {
  # A KVM that is really PVM (kvm_pvm, some cloud VMs) runs only patched guest kernels at
  # speed: a stock kernel is far slower there than plain emulation.
  if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
    echo kvm
  else
    echo tcg
  fi
}

run() {
  local timeout=900 mem=1024 cpus=1 accel="" console=0 cwd=$PWD rw=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --rw|--cd|--timeout|--mem|--cpus|--accel)
        [ $# -ge 2 ] || { echo "sctp-vm: $1 needs a value" >&2; exit 2; } ;;
    esac
    case "$1" in
      --rw) rw+=("$(readlink -f "$2")"); shift ;;
      --cd) cwd=$(readlink -f "$2"); shift ;;
      --timeout) timeout=$2; shift ;;
      --mem) mem=$2; shift ;;
      --cpus) cpus=$2; shift ;;
      --accel) accel=$2; shift ;;
      --console) console=1 ;;
      -h|--help) usage; exit 0 ;;
      --) shift; break ;;
      *) usage >&2; echo "sctp-vm: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
  done
  [ $# -ge 1 ] || { usage >&2; echo "sctp-vm: no command given" >&2; exit 2; }
  need qemu-system-x86_64
  [ -s "$STATE/initramfs.gz" ] && [ -s "$STATE/kernel/KVER" ] \
    || fail "not set up: run scripts/sctp-vm.sh setup"
  local kver; kver=$(cat "$STATE/kernel/KVER")
  [ -n "$accel" ] || accel=$(pick_accel)
  case "$accel" in
    tcg) accel=(-accel tcg,thread=multi -cpu max) ;;
    kvm) accel=(-accel kvm -cpu host) ;;
    *) echo "sctp-vm: --accel is tcg or kvm, not '$accel'" >&2; exit 2 ;;
  esac

  mkdir -p "$STATE/runs"
  local job; job=$(mktemp -d "$STATE/runs/job.XXXXXX")
  echo "$STATE/kernel/lib/modules/$kver" > "$job/moddir"
  echo "$GUEST_MODULES" > "$job/modules"
  {
    printf 'cd %q || { echo "sctp-vm: no directory %q in the guest" >&2; exit 126; }\n' "$cwd" "$cwd"
    printf 'exec'; printf ' %q' "$@"; printf '\n'
  } > "$job/cmd.sh"
  local shares=() i=0 d
  : > "$job/rw"
  for d in "${rw[@]}"; do
    [ -d "$d" ] || { echo "sctp-vm: --rw $d is not a directory" >&2; exit 2; }
    shares+=(-fsdev "local,id=rw$i,path=$d,security_model=none,multidevs=remap"
             -device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
    echo "rw$i $d" >> "$job/rw"
    i=$((i + 1))
  done

  local tail_pid=""
  touch "$job/console.log"
  if [ "$console" = 1 ]; then tail -n +1 -F "$job/console.log" >&2 & tail_pid=$!; fi
  local rc=0
  timeout -k 10 "$timeout" qemu-system-x86_64 -nodefaults -no-user-config -display none \
    -no-reboot -machine pc "${accel[@]}" -smp "$cpus" -m "$mem" \
    -kernel "$STATE/kernel/boot/vmlinuz-$kver" -initrd "$STATE/initramfs.gz" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off no_timer_check" \
    -serial "file:$job/console.log" -serial stdio \
    -fsdev "local,id=host,path=/,security_model=none,readonly=on,multidevs=remap" \
    -device "virtio-9p-pci,fsdev=host,mount_tag=host" \
    -fsdev "local,id=job,path=$job,security_model=none" \
    -device "virtio-9p-pci,fsdev=job,mount_tag=job" \
    "${shares[@]}" < /dev/null || rc=$?
  if [ -n "$tail_pid" ]; then kill "$tail_pid" 2>/dev/null || true; fi
  if [ -s "$job/rc" ]; then
    rc=$(cat "$job/rc")
    rm -rf "$job"
    return "$rc"
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "sctp-vm: the guest ran out of its ${timeout} s; kept $job" >&2
    return 124
  fi
  echo "sctp-vm: the guest ended without running the command (qemu exit $rc); kept $job;" \
       "its console ends with:" >&2
  tail -n 20 "$job/console.log" >&2
  return 125
}

case "${1:-}" in
  setup) setup ;;
  -h|--help|"") usage ;;
  *) run "$@" ;;
esac
