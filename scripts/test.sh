#!/usr/bin/env bash
# The project's test command (README, .ci/run). Runs, failing fast:
#   setup    scripts/setup.sh build (idempotent: installs missing Debian packages only);
#            the other packages (`setup.sh rest`) and the SCTP guest's kernel and initramfs
#            (`sctp-vm.sh setup`) install in the background while the release preset
#            builds: the steps setup/rest and sctp/setup wait for them and show their output
#   release  cmake --preset release, build, ctest (all labels but sctp, and netns unless
#            network namespaces work here)
#   sctp     the release build's tests labelled `sctp` inside a throw-away QEMU guest whose
#            kernel has SCTP (scripts/sctp-vm.sh; its setup fetches the Debian kernel once),
#            in the background beside the release tests; sctp/test waits for it
#   dev      cmake --preset dev (-Werror, ASan + UBSan; no bench/; with CI=true line tables
#            only, -g1), build, ctest (same, minus wireshark and the campaigns labelled
#            netns-slow, which the release step runs)
#   fuzz     golden vectors -> seed corpus; cmake --preset fuzz (clang, codec + fuzz target
#            only), build (after the dev build), run libFuzzer for RSPLAB_FUZZ_SECONDS
#            (beside the dev tests, in the background; fuzz/run waits for it); any crash fails
# then prints a table of the steps with their times and a closing
# "total: N passed, N failed, N skipped" line over all ctest runs.
#
# Usage: scripts/test.sh [options]
#   --quick           release build + its fast tests only (no wireshark/integration/slow
#                     labels, no dev, no fuzz)
#   --no-setup        do not run scripts/setup.sh
#   --no-dev          skip the sanitizer build
#   --no-fuzz         skip the fuzz step
#   --no-sctp         skip the SCTP tests in the VM
#   --keep-going      go on after a failed step (default: stop at the first failure)
#   --fuzz-seconds N  libFuzzer time budget (default 60; env RSPLAB_FUZZ_SECONDS)
#   -j N, --jobs N    parallel build/test jobs (default: nproc; env RSPLAB_JOBS)
#   -h, --help
# Environment:
#   RSPLAB_BUILD_DIR    where the build trees go (default: <repo>/build, the presets' dirs)
#   RSPLAB_NETNS        auto (default) | 1 | 0: run tests labelled netns
#   RSPLAB_REQUIRE_WIRESHARK  1 (default): a wireshark test fails, not skips, without tshark
#   RSPLAB_REQUIRE_GNUPLOT    1 (default): the plots test fails, not skips, without gnuplot
#   RSPLAB_REQUIRE_CHROMIUM   1 (default): the HTML report's browser test fails, not skips,
#                             without chromium
#   RSPLAB_FUZZ_SECONDS, RSPLAB_JOBS  as the options above
# Test labels are documented in tests/CMakeLists.txt.
set -uo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"

QUICK=0
DO_SETUP=1
DO_DEV=1
DO_FUZZ=1
DO_SCTP=1
KEEP_GOING=0
FAILED_STEPS=()
FUZZ_SECONDS=${RSPLAB_FUZZ_SECONDS:-60}
JOBS=${RSPLAB_JOBS:-$(nproc 2>/dev/null || echo 2)}
BUILD=${RSPLAB_BUILD_DIR:-$ROOT/build}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { echo "test.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --no-setup) DO_SETUP=0 ;;
    --no-dev) DO_DEV=0 ;;
    --no-fuzz) DO_FUZZ=0 ;;
    --no-sctp) DO_SCTP=0 ;;
    --keep-going) KEEP_GOING=1 ;;
    --fuzz-seconds) [ $# -ge 2 ] || die "--fuzz-seconds needs a value"; FUZZ_SECONDS=$2; shift ;;
    --fuzz-seconds=*) FUZZ_SECONDS=${1#*=} ;;
    -j|--jobs) [ $# -ge 2 ] || die "$1 needs a value"; JOBS=$2; shift ;;
    -j*) JOBS=${1#-j} ;;
    --jobs=*) JOBS=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
[[ $FUZZ_SECONDS =~ ^[0-9]+$ ]] || die "fuzz seconds must be a whole number, got '$FUZZ_SECONDS'"
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "jobs must be a positive number, got '$JOBS'"
if [ "$QUICK" = 1 ]; then DO_DEV=0; DO_FUZZ=0; DO_SCTP=0; fi
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

# setup.sh installs tshark: a wireshark test that finds it missing fails rather than skips.
export RSPLAB_REQUIRE_WIRESHARK=${RSPLAB_REQUIRE_WIRESHARK:-1}
# and gnuplot: the plots test fails rather than skips without it.
export RSPLAB_REQUIRE_GNUPLOT=${RSPLAB_REQUIRE_GNUPLOT:-1}
# Likewise chromium, for the HTML report's browser test.
export RSPLAB_REQUIRE_CHROMIUM=${RSPLAB_REQUIRE_CHROMIUM:-1}
export CMAKE_BUILD_PARALLEL_LEVEL=$JOBS
export CTEST_PARALLEL_LEVEL=$JOBS
export CLICOLOR_FORCE=0

# ------------------------------------------------------------------ step bookkeeping
STEP_NAMES=()
STEP_STATUS=()
STEP_SECS=()
STEP_NOTES=()
T_START=$(date +%s.%N)
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
NOTE=""   # a step may set this (via a file, it runs in a subshell) for the summary
NOTE_FILE=$(mktemp)
# On the way out (a failed step exits early) the background set-up is waited for, not
# killed: an interrupted dpkg would leave the machine's packages half-installed.
trap 'rm -f "$NOTE_FILE"; bg_wait_all' EXIT

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

summary() {
  echo
  echo "================================ test.sh summary ================================"
  printf '%-16s %-8s %9s  %s\n' STEP STATUS SECONDS NOTE
  printf '%-16s %-8s %9s  %s\n' ---- ------ ------- ----
  local i
  for i in "${!STEP_NAMES[@]}"; do
    printf '%-16s %-8s %9s  %s\n' "${STEP_NAMES[$i]}" "${STEP_STATUS[$i]}" "${STEP_SECS[$i]}" \
      "${STEP_NOTES[$i]}"
  done
  printf '%-16s %-8s %9s\n' total "$1" "$(elapsed "$T_START")"
  echo "================================================================================="
  add_counts
  echo "total: $TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
}

record() {  # name status secs note
  STEP_NAMES+=("$1"); STEP_STATUS+=("$2"); STEP_SECS+=("$3"); STEP_NOTES+=("$4")
}

# step NAME FUNCTION [ARGS...]: runs FUNCTION in a subshell with errexit, times it, and on
# failure prints the summary and exits 1 (with --keep-going: notes it and goes on).
step() {
  local name=$1; shift
  echo
  echo "==> [$name] $(date +%H:%M:%S)"
  : > "$NOTE_FILE"
  local t0; t0=$(date +%s.%N)
  ( set -euo pipefail; "$@" )
  local rc=$?
  local secs; secs=$(elapsed "$t0")
  local note; note=$(cat "$NOTE_FILE")
  if [ $rc -eq 0 ]; then
    echo "<== [$name] ok in ${secs} s"
    record "$name" ok "$secs" "$note"
  else
    echo "<== [$name] FAILED (exit $rc) after ${secs} s" >&2
    record "$name" FAILED "$secs" "$note"
    FAILED_STEPS+=("$name")
    [ "$KEEP_GOING" = 1 ] && return 0
    summary FAILED
    echo "test.sh: step '$name' failed; see its output above" >&2
    exit 1
  fi
}

skip_step() { echo; echo "--- [$1] skipped: $2"; record "$1" skipped "-" "$2"; }

note() { printf '%s' "$*" > "$NOTE_FILE"; }

# ------------------------------------------------------------------ steps
do_setup() {  # group
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "test.sh: scripts/setup.sh needs root or sudo (or pass --no-setup)" >&2; return 1
  fi
  bash "$ROOT/scripts/setup.sh" "$1"
}

# Background jobs: set-up work that needs no CPU to speak of (package downloads, unpacking)
# runs while the release preset compiles. bg_start NAME FUNCTION [ARGS...] starts it with its
# output in $BUILD/bg-NAME.log; bg_join NAME STEP waits for it and makes it the step STEP
# (its log printed, its exit status the step's, the note its own duration).
declare -A BG_PID=()
bg_start() {
  local name=$1; shift
  mkdir -p "$BUILD"
  local log="$BUILD/bg-$name.log"
  echo "background: $name started (log: $log)"
  rm -f "$BUILD/bg-$name.status" "$BUILD/bg-$name.note"
  ( set -euo pipefail; NOTE_FILE="$BUILD/bg-$name.note"; t0=$(date +%s.%N); rc=0
    "$@" > "$log" 2>&1 || rc=$?
    echo "$rc $(elapsed "$t0")" > "$BUILD/bg-$name.status"; exit $rc ) < /dev/null &
  BG_PID[$name]=$!
}
bg_report() {  # name pid: waits for it (the step's time is the wait), shows its log and status
  local log="$BUILD/bg-$1.log" rc secs
  while [ ! -s "$BUILD/bg-$1.status" ] && kill -0 "$2" 2>/dev/null; do sleep 0.5; done
  sed 's/^/  | /' "$log"
  read -r rc secs < "$BUILD/bg-$1.status" || { echo "test.sh: $1 left no status" >&2; return 1; }
  local own=""
  [ -s "$BUILD/bg-$1.note" ] && own="$(cat "$BUILD/bg-$1.note"); "
  note "${own}${secs} s in the background"
  return "$rc"
}
bg_wait_all() {
  local p
  for p in "${BG_PID[@]}"; do wait "$p" 2>/dev/null || true; done
}
bg_join() {  # name step
  [ -n "${BG_PID[$1]:-}" ] || return 0
  # A step that fails exits: the EXIT trap then waits for this job with the others.
  step "$2" bg_report "$1" "${BG_PID[$1]}"
  wait "${BG_PID[$1]}" 2>/dev/null || true
  unset "BG_PID[$1]"
}

check_tools() {
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: missing ${missing[*]}: run scripts/setup.sh (as root)" >&2; return 1
  fi
  local v
  for t in "$@"; do
    v=$("$t" --version | head -1)
    case "$v" in [0-9]*) v="$t $v" ;; esac
    echo "$v"
  done
}

configure() {  # preset [cmake arguments...]
  local preset=$1; shift
  cmake --preset "$preset" -B "$BUILD/$preset" "$@"
}

build() {  # preset [targets...]
  local preset=$1; shift
  local targets=()
  [ $# -gt 0 ] && targets=(--target "$@")
  cmake --build "$BUILD/$preset" -j "$JOBS" "${targets[@]}"
}

# Whether tests labelled netns can run here: root and a working `ip netns`.
netns_ok() {
  case "${RSPLAB_NETNS:-auto}" in
    1) return 0 ;;
    0) return 1 ;;
  esac
  [ "$(id -u)" -eq 0 ] || return 1
  command -v ip >/dev/null 2>&1 || return 1
  local ns="rsplab-probe-$$"
  ip netns add "$ns" >/dev/null 2>&1 || return 1
  ip netns delete "$ns" >/dev/null 2>&1
  return 0
}

# The environment of CMakePresets.json's test preset NAME, one KEY=VALUE per line.
preset_env() {
  python3 - "$ROOT/CMakePresets.json" "$1" <<'PY'
import json, sys
presets = json.load(open(sys.argv[1])).get("testPresets", [])
for p in presets:
    if p.get("name") == sys.argv[2]:
        for k, v in (p.get("environment") or {}).items():
            print(f"{k}={v}")
PY
}

# run_ctest PRESET EXCLUDE_REGEX: ctest with the preset's environment over our build tree;
# adds its counts to the totals (read back from its JUnit report).
run_ctest() {
  local preset=$1 exclude=$2
  local junit="$BUILD/$preset/ctest-junit.xml"
  rm -f "$junit"
  echo "ctest: excluding labels /$exclude/"
  # Not `ctest --preset`: with --test-dir it still runs the preset's own binaryDir when
  # that exists. The test preset's environment (ASAN_OPTIONS, ...) is applied by hand.
  local envs=()
  mapfile -t envs < <(preset_env "$preset")
  [ ${#envs[@]} -gt 0 ] && echo "ctest: environment ${envs[*]}"
  local rc=0
  env "${envs[@]}" ctest --test-dir "$BUILD/$preset" -j "$JOBS" -LE "$exclude" \
    --output-on-failure --no-tests=error --timeout 600 --output-junit "$junit" || rc=$?
  junit_counts "$junit" "$BUILD/$preset"
  return $rc
}

# junit_counts JUNIT DIR: the counts of a ctest JUnit report into DIR/ctest-counts.num (read
# by add_counts) and the step's note.
junit_counts() {
  local junit=$1 dir=$2
  local counts="no JUnit report"
  if [ -r "$junit" ]; then
    local head tests failures skipped disabled passed
    head=$(tr '\n\t' '  ' < "$junit" | grep -m1 -o '<testsuite [^>]*>' || true)
    tests=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$head")
    failures=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$head")
    skipped=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$head")
    disabled=$(sed -n 's/.* disabled="\([0-9]*\)".*/\1/p' <<<"$head")
    tests=${tests:-0}; failures=${failures:-0}; skipped=$(( ${skipped:-0} + ${disabled:-0} ))
    passed=$((tests - failures - skipped))
    counts="$passed passed, $failures failed, $skipped skipped"
    echo "$passed $failures $skipped" > "$dir/ctest-counts.num"
  fi
  note "$counts"
}

add_counts() {  # sums the counts of this run's ctest runs into the totals
  local f p fl s
  TOTAL_PASSED=0; TOTAL_FAILED=0; TOTAL_SKIPPED=0
  for f in "$BUILD"/*/ctest-counts.num; do
    [ -r "$f" ] || continue
    read -r p fl s < "$f"
    TOTAL_PASSED=$((TOTAL_PASSED + p)); TOTAL_FAILED=$((TOTAL_FAILED + fl))
    TOTAL_SKIPPED=$((TOTAL_SKIPPED + s))
  done
}

# The fuzz step: seeds from the golden vectors (release build's golden_corpus), a clang
# build of the codec and its libFuzzer target, a time-bounded run; any crash fails.
FUZZ_WORK=$BUILD/fuzz-work
fuzz_corpus() {
  local tool="$BUILD/release/tests/wireshark/golden_corpus"
  [ -x "$tool" ] || { echo "test.sh: $tool not built (release step)" >&2; return 1; }
  rm -rf "$FUZZ_WORK/seeds"
  mkdir -p "$FUZZ_WORK/seeds" "$FUZZ_WORK/corpus" "$FUZZ_WORK/artifacts"
  "$tool" "$FUZZ_WORK/seeds"
  note "$(find "$FUZZ_WORK/seeds" -type f | wc -l) seed files"
}

fuzz_run() {
  local bin="$BUILD/fuzz/tests/fuzz/decode_fuzz" log="$FUZZ_WORK/fuzz.log"
  [ -x "$bin" ] || { echo "test.sh: $bin not built" >&2; return 1; }
  rm -f "$FUZZ_WORK"/artifacts/*
  echo "fuzzing for ${FUZZ_SECONDS} s: $bin (log: $log)"
  local rc=0
  # One process (2 cores are shared); new inputs go to corpus/, crashes to artifacts/.
  "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$FUZZ_WORK/artifacts/" "$FUZZ_WORK/corpus" "$FUZZ_WORK/seeds" \
    > "$log" 2>&1 || rc=$?
  local done_line execs rate
  done_line=$(grep -E '^Done [0-9]+ runs in' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  grep -E '^(INFO: seed corpus|stat::)' "$log" || true
  [ -n "$done_line" ] && echo "$done_line"
  if [ $rc -ne 0 ]; then
    echo "---- last 60 lines of $log" >&2
    tail -n 60 "$log" >&2
    echo "---- crash inputs:" >&2
    ls -l "$FUZZ_WORK/artifacts" >&2
    echo "test.sh: the fuzzer failed (exit $rc): reproduce with $bin <artifact>" >&2
    note "CRASH after ${execs:-?} execs"
    return 1
  fi
  [ -n "$execs" ] || { echo "test.sh: no final stats in $log" >&2; tail -n 20 "$log" >&2; return 1; }
  note "${execs} execs in ${FUZZ_SECONDS} s (${rate:-?}/s), corpus $(find "$FUZZ_WORK/corpus" -type f | wc -l)"
}

# SCTP tests (label `sctp`) need kernel SCTP, which CI machines lack: they run inside a
# throw-away QEMU guest (scripts/sctp-vm.sh: the host's filesystem read-only under a
# discarded overlay, loopback only, sctp and veth loaded, root). The guest runs ctest over
# the release tree; its JUnit report lands in the writable $BUILD/sctp-vm.
SCTP_VM=$ROOT/scripts/sctp-vm.sh
sctp_setup() { bash "$SCTP_VM" setup; }

sctp_test() {
  local out="$BUILD/sctp-vm" n
  mkdir -p "$out"
  rm -f "$out/ctest-junit.xml" "$out/ctest-counts.num"
  n=$(ctest --test-dir "$BUILD/release" -N -L sctp | sed -n 's/^Total Tests: //p')
  echo "sctp: ${n:-0} test(s) labelled sctp, in the VM"
  local rc=0
  # The ctest timeout bounds each test; --timeout bounds the whole guest (boot included).
  # setup.sh installs RSPLIB's registrar: the interoperability tests fail rather than skip
  # without it (RSPLAB_REQUIRE_RSPLIB; the guest's environment is clean, so it is set here).
  bash "$SCTP_VM" --timeout 900 --rw "$out" --cd "$ROOT" -- env RSPLAB_REQUIRE_RSPLIB=1 \
    ctest --test-dir "$BUILD/release" -L sctp --output-on-failure --no-tests=error \
      --timeout 300 --output-junit "$out/ctest-junit.xml" || rc=$?
  junit_counts "$out/ctest-junit.xml" "$out"
  [ $rc -eq 124 ] && echo "test.sh: the SCTP VM timed out" >&2
  [ $rc -eq 125 ] && echo "test.sh: the SCTP VM did not boot (try: $SCTP_VM --console -- true)" >&2
  return $rc
}

# ------------------------------------------------------------------ the run
rm -f "$BUILD"/*/ctest-counts.num "$BUILD"/*/ctest-counts 2>/dev/null
echo "RSerPool Lab tests: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git'))"

rm -f "$BUILD"/bg-*.status 2>/dev/null
if [ "$DO_SETUP" = 1 ]; then step setup do_setup build; else skip_step setup "--no-setup"; fi
step tools check_tools cmake ninja g++
echo "jobs: $JOBS   build trees: $BUILD"
# What the build does not need installs meanwhile; the SCTP guest's set-up needs its packages.
if [ "$DO_SETUP" = 1 ] && [ "$DO_SCTP" = 1 ]; then
  bg_start setup-rest sh -c "bash '$ROOT/scripts/setup.sh' rest && bash '$SCTP_VM' setup"
elif [ "$DO_SETUP" = 1 ]; then
  bg_start setup-rest bash "$ROOT/scripts/setup.sh" rest
elif [ "$DO_SCTP" = 1 ]; then
  bg_start setup-rest bash "$SCTP_VM" setup
fi

step release/config configure release
step release/build build release
bg_join setup-rest setup/rest
# The SCTP guest (one emulated CPU, its tests mostly waiting on timers) runs beside the release
# tests: it needs only the release build.
if [ "$DO_SCTP" = 1 ]; then
  # Done in the background with the set-up when that ran (its output is under setup/rest).
  [ -r "$BUILD/bg-setup-rest.status" ] || step sctp/setup sctp_setup
  bg_start sctp-test sctp_test
fi

EXCLUDE="sctp"
if netns_ok; then echo "netns: available, tests labelled netns run"
else EXCLUDE="$EXCLUDE|netns"; echo "netns: not available here (root + ip netns), tests labelled netns excluded"; fi
if [ "$QUICK" = 1 ]; then
  step release/test run_ctest release "$EXCLUDE|wireshark|integration|slow"
else
  step release/test run_ctest release "$EXCLUDE"
fi

if [ "$DO_SCTP" = 1 ]; then
  bg_join sctp-test sctp/test
else
  skip_step sctp "$([ "$QUICK" = 1 ] && echo --quick || echo --no-sctp)"
fi

if [ "$DO_DEV" = 1 ]; then
  # On CI the sanitizer build carries line tables only (-g1): reports keep file:line, the
  # build takes less time; elsewhere the dev tree stays a full -g build for gdb.
  if [ "${CI:-}" = true ]; then step dev/config configure dev -DRSPLAB_DEBUG_LINES=ON
  else step dev/config configure dev -DRSPLAB_DEBUG_LINES=OFF; fi
  step dev/build build dev
fi

if [ "$DO_FUZZ" = 1 ]; then
  step fuzz/tools check_tools clang++
  step fuzz/corpus fuzz_corpus
  step fuzz/config configure fuzz
  step fuzz/build build fuzz decode_fuzz
  # The fuzzer is one process: it runs beside the sanitizer tests (mostly waiting on timers).
  if [ "$DO_DEV" = 1 ]; then bg_start fuzz-run fuzz_run; else step fuzz/run fuzz_run; fi
else
  skip_step fuzz "$([ "$QUICK" = 1 ] && echo --quick || echo --no-fuzz)"
fi

if [ "$DO_DEV" = 1 ]; then
  step dev/test run_ctest dev "$EXCLUDE|wireshark|slow"
  bg_join fuzz-run fuzz/run
else
  skip_step dev "$([ "$QUICK" = 1 ] && echo --quick || echo --no-dev)"
fi

if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  summary FAILED
  echo "test.sh: failed steps: ${FAILED_STEPS[*]}" >&2
  exit 1
fi
summary ok
exit 0
