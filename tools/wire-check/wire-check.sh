#!/usr/bin/env bash
# Wireshark's own judgement of the ASAP and ENRP messages in a capture file: the project's
# independent check of its codec on the wire (tests labelled `wireshark`, README "Tests").
#
# Usage: tools/wire-check/wire-check.sh [-s] [-v] [-a ASAP_PORTS] [-e ENRP_PORTS] CAPTURE
#   -a, -e  the TCP ports that carry ASAP / ENRP: a list with ranges, e.g. 3863,13860-13869
#           (default 3863 and 9901). SCTP is told apart by its PPID (11, 12) instead.
#   -s      strict: also fail on unknown message or parameter types, warning-level expert
#           items, a Message Length that is not a multiple of 4, or no message at all
#   -v      list every offending frame or stream (default: the first 20)
# It fails (exit 1) on a frame Wireshark calls malformed or flags with an error, and on TCP
# streams that do not cut into whole messages by their 16-bit Message Length. It prints one
# line per message type seen ("ASAP 0x05 ASAP_HANDLE_RESOLUTION 3"), its findings, and
# "RESULT: PASS" or "RESULT: FAIL". Exit 2: bad usage, or tshark failed.
# Needs tshark and python3 (scripts/setup.sh). TCP is framed by rserpool_tcp.lua, found
# beside this script (or at $RSERPOOL_TCP_LUA); the work is done by wire_check.py.
set -euo pipefail
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
for tool in tshark python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "wire-check: $tool not found: run scripts/setup.sh" >&2; exit 2; }
done
exec python3 "$here/wire_check.py" "$@"
