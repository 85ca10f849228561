#!/usr/bin/env bash
# Scale run of the CalcApp pool on one machine (a benchmark, not a test): one registrar,
# PEs and PUs hosted with --count in a few processes, for a fixed time on loopback (TCP).
# Checks what must hold at any scale and reports what was measured:
#   - no job lost: every generated job has a job event, completed or unfinished at the end;
#   - every registrar keep-alive answered (no keepalive_timeout at the registrar) and every
#     session keep-alive answered (no keepalive_timeout failover at a PU, none at a PE);
#   - jobs completed, handling speed, registrar handle resolutions per second, CPU time.
#
# Usage: bench/pool_scale.sh [--pes 500] [--pus 1500] [--runtime 60] [--procs 5]
#                            [--out DIR] [--rsplab build/release/apps/rsplab]
# Exit status: 0 all checks held, 1 a check failed, 2 usage.
set -euo pipefail

pes=500
pus=1500
runtime=60
procs=5
out=""
rsplab="build/release/apps/rsplab"
while [ $# -gt 0 ]; do
  case "$1" in
    --pes) pes="$2"; shift 2 ;;
    --pus) pus="$2"; shift 2 ;;
    --runtime) runtime="$2"; shift 2 ;;
    --procs) procs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --rsplab) rsplab="$2"; shift 2 ;;
    *) sed -n '2,14p' "$0" >&2; exit 2 ;;
  esac
done
[ -x "$rsplab" ] || { echo "pool_scale.sh: no rsplab at $rsplab" >&2; exit 2; }
rsplab="$(readlink -f "$rsplab")"
[ -n "$out" ] || out="$(mktemp -d /tmp/rsplab-scale.XXXXXX)"
mkdir -p "$out"
rm -f "$out"/*.jsonl "$out"/*.out "$out"/*.err
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

await_line() {
  local file="$1" regex="$2" n="${3:-1}"
  for _ in $(seq 600); do
    [ "$(grep -c -E "$regex" "$file" 2>/dev/null || true)" -ge "$n" ] && { grep -m1 -E "$regex" "$file"; return 0; }
    sleep 0.1
  done
  echo "pool_scale.sh: timed out waiting for $n x '$regex' in $file" >&2; return 1
}

"$rsplab" registrar --transport tcp --asap 127.0.0.1:0 --enrp 127.0.0.1:0 \
  --events "$out/registrar.jsonl" --log-level warning >"$out/registrar.out" 2>"$out/registrar.err" &
pr=$!; pids+=($pr)
asap="$(await_line "$out/registrar.out" '^asap ' | cut -d' ' -f2)"

# Job sizes and intervals for ~60 % utilization: PU:PE ratio r = pus/pes, capacity 1e6,
# job size Exp(1e6): interval mean = r * 1e6 / (0.6 * 1e6) s.
interval_ms=$(( pus * 1000 * 10 / (pes * 6) ))
per_pe=$(( (pes + procs - 1) / procs ))
per_pu=$(( (pus + procs - 1) / procs ))
started=0
for i in $(seq 0 $((procs - 1))); do
  n=$(( pes - started < per_pe ? pes - started : per_pe ))
  [ "$n" -gt 0 ] || break
  "$rsplab" pe --transport tcp --registrar "$asap" --pool scale --policy lu --count "$n" \
    --capacity 1e6 --max-jobs 10 --usage-interval 0 \
    --events "$out/pe$i.jsonl" --log-level warning >"$out/pe$i.out" 2>"$out/pe$i.err" &
  pids+=($!); pe_procs+=($!)
  started=$(( started + n ))
done
for i in $(seq 0 $(( ${#pe_procs[@]} - 1 ))); do await_line "$out/pe$i.out" '^pe ' >/dev/null; done
sleep 2
echo "registrar $asap, $pes PEs in ${#pe_procs[@]} processes; starting $pus PUs (interval exp:${interval_ms}ms)"

t0=$(date +%s.%N)
started=0
for i in $(seq 0 $((procs - 1))); do
  n=$(( pus - started < per_pu ? pus - started : per_pu ))
  [ "$n" -gt 0 ] || break
  "$rsplab" pu --transport tcp --registrar "$asap" --pool scale --count "$n" \
    --job-size exp:1e6 --interval "exp:${interval_ms}ms" --runtime "${runtime}s" --seed $((1000 + i * n)) \
    --name "pu$i" --events "$out/pu$i.jsonl" --log-level warning >"$out/pu$i.out" 2>"$out/pu$i.err" &
  pids+=($!); pu_procs+=($!)
  started=$(( started + n ))
done
status=0
for p in "${pu_procs[@]}"; do wait "$p" || status=1; done
t1=$(date +%s.%N)
for p in "${pe_procs[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pe_procs[@]}"; do wait "$p" || status=1; done
cpu_pr=$(awk '{print ($14 + $15) / 100}' "/proc/$pr/stat" 2>/dev/null || echo "?")
kill -TERM "$pr"; wait "$pr" || true

python3 - "$out" "$t0" "$t1" "$cpu_pr" "$status" <<'EOF'
import glob, json, sys
out, t0, t1, cpu_pr, status = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
def events(pattern):
    for path in sorted(glob.glob(f"{out}/{pattern}")):
        with open(path) as f:
            for line in f:
                yield json.loads(line)
summaries = []
for path in sorted(glob.glob(f"{out}/pu*.out")):
    with open(path) as f:
        lines = [l for l in f if l.startswith("{")]
    summaries.append(json.loads(lines[-1]) if lines else None)
ok = status == 0 and all(summaries)
gen = sum(s["jobs_generated"] for s in summaries if s)
comp = sum(s["jobs_completed"] for s in summaries if s)
unfin = sum(s["jobs_unfinished"] for s in summaries if s)
jobs = [e for e in events("pu*.jsonl") if e["event"] == "job"]
failovers = [e for e in events("pu*.jsonl") if e["event"] == "failover"]
pr = list(events("registrar.jsonl"))
pr_timeouts = sum(1 for e in pr if e["event"] == "keepalive_timeout")
hres = sum(1 for e in pr if e["event"] == "handle_resolution")
pe_timeouts = sum(1 for e in events("pe*.jsonl") if e["event"] == "session_closed" and e.get("cause") == "keepalive_timeout")
done = [j for j in jobs if j["status"] == "completed"]
speed = sum(j["size"] for j in done) / max(1e-9, sum(j["handling_us"] for j in done) / 1e6)
checks = [
    ("every PU process exited 0 with a summary", ok),
    (f"no job lost: generated {gen} = completed {comp} + unfinished {unfin}", gen == comp + unfin),
    (f"a job event per job: {len(jobs)} events for {gen} jobs", len(jobs) == gen),
    (f"registrar keep-alives all answered: {pr_timeouts} timeouts", pr_timeouts == 0),
    (f"session keep-alives all answered: {pe_timeouts} at PEs, "
     f"{sum(1 for f in failovers if f['cause'] == 'keepalive_timeout')} at PUs",
     pe_timeouts == 0 and not any(f["cause"] == "keepalive_timeout" for f in failovers)),
]
wall = t1 - t0
print(f"run {wall:.1f} s: {comp} jobs completed ({comp / wall:.1f}/s), {unfin} unfinished at the end, "
      f"{len(failovers)} failovers")
print(f"handling speed {speed:,.0f} calculations/s ({100 * speed / 1e6:.1f} % of a PE's capacity)")
print(f"registrar: {hres} handle resolutions ({hres / wall:.0f}/s), CPU {cpu_pr} s")
failed = False
for text, good in checks:
    print(("ok   " if good else "FAIL ") + text)
    failed |= not good
print(f"events in {out}")
sys.exit(1 if failed else 0)
EOF
