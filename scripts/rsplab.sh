#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset, then
#   without arguments: runs the quickstart experiment (experiments/quickstart.yaml: LU vs RR
#                      vs Random on two emulated multi-homed sites, about 2 minutes) into
#                      quickstart.db, then writes its report page, quickstart.html
#                      (rsplab report --html: tables with intervals, plots, checks);
#   with arguments:    runs rsplab with them (scripts/rsplab.sh --help, … plan FILE, … pu --help).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release --target rsplab >&2
[ $# -eq 0 ] || exec build/release/apps/rsplab "$@"
status=0
build/release/apps/rsplab run experiments/quickstart.yaml -o quickstart.db || status=$?
[ "$status" -ne 130 ] || exit 130  # interrupted: no page
build/release/apps/rsplab report quickstart.db --html quickstart.html || status=$?
exit "$status"
