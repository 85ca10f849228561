#!/usr/bin/env bash
# The wire check itself (tools/wire-check/wire-check.sh): it must pass good captures and fail
# bad ones, or the wireshark tests prove nothing. Each case is a few hand-written ASAP
# messages (text2pcap hexdump, one TCP segment per block, ASAP on port 3863) with the exit
# status expected without and with -s, and a line its output must contain.
# Usage: wire_check_test.sh CHECKER WORKDIR   (ctest: WireCheck.RejectsBrokenCaptures)
set -uo pipefail
checker=$1 work=$2
mkdir -p "$work"
for tool in text2pcap tshark python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing: run scripts/setup.sh"; exit 1; }
done

# A HANDLE_RESOLUTION for pool "pool": header (type 5, length 12), Pool Handle (0x0009, 8).
resolution="05 00 00 0c 00 09 00 08 70 6f 6f 6c"
failures=0

# check NAME PLAIN_EXIT STRICT_EXIT EXPECTED_LINE SEGMENT...
check() {
  local name=$1 plain=$2 strict=$3 line=$4; shift 4
  local segment
  for segment in "$@"; do printf '000000 %s\n\n' "$segment"; done > "$work/$name.txt"
  text2pcap -q -4 127.0.0.1,127.0.0.2 -T 40000,3863 "$work/$name.txt" "$work/$name.pcapng" \
    || { echo "FAIL $name: text2pcap"; failures=$((failures + 1)); return; }
  local out rc_plain rc_strict
  bash "$checker" "$work/$name.pcapng" > /dev/null 2>&1; rc_plain=$?
  out=$(bash "$checker" -s "$work/$name.pcapng" 2>&1); rc_strict=$?
  if [ "$rc_plain" = "$plain" ] && [ "$rc_strict" = "$strict" ] && grep -qF -- "$line" <<<"$out"; then
    echo "ok   $name: exit $rc_plain, -s exit $rc_strict, says '$line'"
  else
    echo "FAIL $name: exit $rc_plain (want $plain), -s exit $rc_strict (want $strict)," \
         "output should contain '$line':"
    sed 's/^/     /' <<<"$out"
    failures=$((failures + 1))
  fi
}

check good 0 0 "ASAP 0x05 ASAP_HANDLE_RESOLUTION" "$resolution" "$resolution"
check two_in_one_segment 0 0 "tcp messages framed: 2" "$resolution $resolution"
check split_over_segments 0 0 "tcp messages framed: 1" "05 00 00 0c 00 09" "00 08 70 6f 6f 6c"
check parameter_longer_than_message 1 1 "malformed or error frames: 1" \
  "05 00 00 0c 00 09 00 10 70 6f 6f 6c"
check length_below_header 1 1 "Message Length 2, below the header" "$resolution" "05 00 00 02"
check cut_off_at_end 1 1 "the stream ends inside a message" "$resolution" "05 00 00 0c 00 09"
check unknown_message_type 0 1 "unknown message types: 1" "3f 00 00 04"
check unknown_parameter_type 0 1 "unknown parameter types: 1 (0x4030 x1)" \
  "05 00 00 10 00 09 00 08 70 6f 6f 6c 40 30 00 04"
check length_not_multiple_of_4 0 1 "is not a multiple of 4" "05 00 00 0b 00 09 00 07 70 6f 6f"

if [ "$failures" -gt 0 ]; then echo "$failures case(s) failed"; exit 1; fi
echo "all cases passed"
