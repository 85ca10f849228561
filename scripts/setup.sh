#!/usr/bin/env bash
# Installs every Debian 12 package RSerPool Lab needs, non-interactively and
# idempotently. Nothing is downloaded from anywhere but Debian's archive.
# Usage: scripts/setup.sh [all|build|rest]   (as root, or with sudo available)
#   all    every package (the default)
#   build  what building the release and dev presets needs (scripts/test.sh installs these
#          first and the rest in the background while the release preset builds)
#   rest   the others: the fuzz build's clang, the tests' tools, the SCTP guest's parts
set -euo pipefail

GROUP=${1:-all}
case "$GROUP" in all|build|rest) ;; *) echo "usage: $0 [all|build|rest]" >&2; exit 2 ;; esac

BUILD_PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git python3
  # libraries of the design card
  libboost-dev libsctp-dev lksctp-tools libsqlite3-dev sqlite3 libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # well-kept helpers
  libcli11-dev nlohmann-json3-dev libfmt-dev
  # run keys: SHA-256 from OpenSSL's libcrypto (experiments/sha256.hpp)
  libssl-dev
)
REST_PACKAGES=(
  # fuzzing (libFuzzer comes with clang's runtime)
  clang libclang-rt-14-dev
  # wire cross-check with Wireshark's own dissectors (tools/wire-check)
  tshark
  # the SCTP tests' throw-away guest (scripts/sctp-vm.sh): the emulator, a static shell for
  # its initramfs, depmod/modprobe for the guest kernel's modules
  qemu-system-x86 busybox-static kmod
  # RSPLIB's registrar and hsdump, the peers of the ENRP interoperability tests
  # (tests/integration/rsplib_test.cpp); installed without starting the registrar's service
  rsplib-registrar rsplib-tools
  # network namespaces, bridges, firewall rules for emulated sites
  iproute2 nftables
  # the ssh-reached sites' tests run a throw-away sshd on loopback (tests/support/sshd.hpp);
  # they never use the system's sshd or port 22
  openssh-server openssh-client
  # `rsplab report --plot`: SVG and PNG figures (results/plots.hpp)
  gnuplot-nox
  # the HTML report's test loads the page in headless Chromium (tests/support/browser.hpp)
  chromium
)
case "$GROUP" in
  all) PACKAGES=("${BUILD_PACKAGES[@]}" "${REST_PACKAGES[@]}") ;;
  build) PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  rest) PACKAGES=("${REST_PACKAGES[@]}") ;;
esac

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present ($GROUP)"
  exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
# rsplib-registrar ships an init script that its postinst starts (a registrar on ports 3863
# and 9901) and links for boot. A policy-rc.d answering 101 (action forbidden) keeps
# invoke-rc.d from starting it during the install (unless one is already in place, as in
# Debian's container images); afterwards its boot links are disabled: nothing runs it but
# the tests.
POLICY=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  own_policy=1
fi
status=0
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || status=$?
if [ -n "$own_policy" ]; then $SUDO rm -f "$POLICY"; fi
[ "$status" -eq 0 ] || exit "$status"
if [[ " ${missing[*]} " == *" rsplib-registrar "* ]]; then
  $SUDO update-rc.d rsplib-registrar disable >/dev/null 2>&1 || true
fi
