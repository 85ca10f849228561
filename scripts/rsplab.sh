#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset, then
#   without arguments: runs the demo pool (scripts/demo.sh: about 30 s on loopback);
#   with arguments:    runs rsplab with them (scripts/rsplab.sh --help, … pu --help).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release --target rsplab >&2
[ $# -gt 0 ] || exec scripts/demo.sh --rsplab build/release/apps/rsplab
exec build/release/apps/rsplab "$@"
