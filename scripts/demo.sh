#!/usr/bin/env bash
# Install the product into .venv and start the demo: a hub and two commune nodes on
# localhost (SQLite, sample data, background sync). Ctrl-C stops everything.
# Usage: ./scripts/demo.sh [--base-port 5000]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/central-hub demo "$@"
