#!/usr/bin/env bash
# A small pool on loopback for about 30 s: one registrar, four PEs of different capacities,
# 20 PUs (one process, --count) submitting CalcApp jobs; halfway through the busiest-capacity
# PE but one is killed with SIGKILL, and its jobs fail over to the others from their
# latest cookies. At the end: jobs done, handling speed, failovers, and where the logs are.
#
# Usage: scripts/demo.sh [--runtime SECONDS] [--out DIR] [--rsplab PATH]
#   (scripts/rsplab.sh without arguments installs, builds and runs this.)
set -euo pipefail

runtime=30
out=""
rsplab="build/release/apps/rsplab"
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime) runtime="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --rsplab) rsplab="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (--runtime S, --out DIR, --rsplab PATH)" >&2; exit 2 ;;
  esac
done
[ -x "$rsplab" ] || { echo "demo.sh: no rsplab at $rsplab (build first: scripts/rsplab.sh)" >&2; exit 2; }
rsplab="$(readlink -f "$rsplab")"
[ -n "$out" ] || out="$(mktemp -d /tmp/rsplab-demo.XXXXXX)"
mkdir -p "$out"
out="$(readlink -f "$out")"
rm -f "$out"/*.jsonl

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Waits until FILE has a line matching REGEX (at most 10 s); prints that line.
await_line() {
  local file="$1" regex="$2"
  for _ in $(seq 100); do
    if grep -m1 -E "$regex" "$file" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "demo.sh: timed out waiting for '$regex' in $file" >&2
  cat "$file" >&2 || true
  return 1
}

echo "== RSerPool Lab demo: $runtime s on loopback, logs in $out"
"$rsplab" registrar --asap 127.0.0.1:0 --enrp 127.0.0.1:0 --events "$out/registrar.jsonl" \
  --keepalive-interval 1s --keepalive-timeout 1s --log-level warning >"$out/registrar.out" 2>"$out/registrar.err" &
pids+=($!)
asap="$(await_line "$out/registrar.out" '^asap ' | cut -d' ' -f2)"
echo "registrar        ASAP at $asap"

# PEs: capacity (calculations/s), policy Least Used; cookies every 1 s or 10^6 calculations.
capacities=(1e6 2e6 3e6 2e6)
victim=3
for i in "${!capacities[@]}"; do
  "$rsplab" pe --registrar "$asap" --pool calcapp --policy lu --capacity "${capacities[$i]}" \
    --max-jobs 8 --cookie-max-time 1s --cookie-max-calculations 1e6 \
    --reregistration-interval 5s --keepalive-interval 1s --keepalive-timeout 1s \
    --events "$out/pe$i.jsonl" --log-level warning >"$out/pe$i.out" 2>"$out/pe$i.err" &
  pids+=($!)
  pe_pid[$i]=$!
  line="$(await_line "$out/pe$i.out" '^pe ')"
  echo "PE $i             ${line#pe }  capacity ${capacities[$i]}/s"
done

# 20 PUs in one process: jobs of Exp(3·10^6) calculations every Exp(10 s) each, about 75 %
# of the pool's 8·10^6 calculations/s.
"$rsplab" pu --registrar "$asap" --pool calcapp --count 20 --job-size exp:3e6 --interval exp:10s \
  --runtime "${runtime}s" --keepalive-interval 1s --keepalive-timeout 1s \
  --reject-retry-delay uniform:100ms,500ms --seed 42 --name pu \
  --events "$out/pu.jsonl" --log-level warning >"$out/pu.out" 2>"$out/pu.err" &
pu=$!
pids+=($pu)
echo "PUs              20 (one process), runtime ${runtime} s"

half=$(( runtime / 2 ))
sleep "$half"
{ kill -KILL "${pe_pid[$victim]}"; wait "${pe_pid[$victim]}"; } 2>/dev/null || true
echo "t=${half}s           PE $victim killed (SIGKILL): its jobs fail over"
wait "$pu" || { echo "demo.sh: rsplab pu failed, see $out/pu.err" >&2; exit 1; }
for i in "${!capacities[@]}"; do
  [ "$i" = "$victim" ] || kill -TERM "${pe_pid[$i]}" 2>/dev/null || true
done
sleep 0.5

python3 - "$out" "$victim" <<'EOF'
import json, sys, glob, os
out, victim = sys.argv[1], int(sys.argv[2])
def events(path):
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                pass
jobs = [e for e in events(f"{out}/pu.jsonl") if e.get("event") == "job"]
done = [j for j in jobs if j["status"] == "completed"]
failovers = [e for e in events(f"{out}/pu.jsonl") if e.get("event") == "failover"]
size = sum(j["size"] for j in done)
handling = sum(j["handling_us"] for j in done) / 1e6
print()
print(f"jobs              {len(done)} completed, {len(jobs) - len(done)} unfinished at the end")
if handling > 0:
    speed = size / handling
    print(f"handling speed    {speed:,.0f} calculations/s (Σ size / Σ handling time; "
          f"{100 * speed / 1e6:.0f} % of a 10^6/s PE)")
    for key, label in (("queuing_delay_us", "queuing"), ("startup_delay_us", "startup"),
                       ("processing_us", "processing")):
        print(f"  mean {label + ' time':17s} {sum(j[key] for j in done) / len(done) / 1e3:8.0f} ms")
rejects = sum(j["rejects"] for j in jobs)
print(f"rejects           {rejects}")
print(f"failovers         {len(failovers)}")
for f in failovers[:8]:
    print(f"  job {f['id']}/{f['job']}: {f['cause']} at PE {f['from_pe']} -> PE {f['to_pe']}, "
          f"detected after {f['detection_delay_us'] / 1e3:.0f} ms, "
          f"{'cookie' if f['cookie'] else 'no cookie'}: resumed at {f['resumed']:,}, lost {f['lost']:,} calculations")
if len(failovers) > 8:
    print(f"  ... {len(failovers) - 8} more")
print("per PE (accepted / completed jobs):")
for path in sorted(glob.glob(f"{out}/pe*.jsonl")):
    ev = list(events(path))
    acc = sum(1 for e in ev if e.get("event") == "job_accepted")
    comp = sum(1 for e in ev if e.get("event") == "job_completed")
    pe = next((e.get("id") for e in ev if e.get("event") == "ready"), "?")
    name = os.path.basename(path)[:-6]
    mark = "  (killed)" if name == f"pe{victim}" else ""
    print(f"  {name} {pe}: {acc} / {comp}{mark}")
print()
print(f"event logs        {out}/*.jsonl (JSON lines; fields in docs/events.md)")
EOF
