#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset, runs rsplab.
# Usage: scripts/rsplab.sh [rsplab arguments]   (default: --help)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release --target rsplab >&2
[ $# -gt 0 ] || set -- --help
exec build/release/apps/rsplab "$@"
