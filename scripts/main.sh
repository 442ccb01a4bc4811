#!/usr/bin/env bash
# The main job on a fresh machine: a virtual environment in .venv with agorschema installed,
# then compile the example schema/ and apply it to the default SQLite database (agor.db).
# Re-running it reuses .venv and changes nothing that is up to date.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${AGORSCHEMA_VENV:-.venv}"
PYTHON="$(command -v python3 || command -v python || true)"
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  # Debian/Ubuntu ship venv and ensurepip separately (PEP 668 forbids a system-wide pip install)
  $SUDO apt-get update -q && $SUDO apt-get install -y -q python3 python3-venv python3-pip
  PYTHON="$(command -v python3)"
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -e .
"$VENV/bin/agorschema" compile
"$VENV/bin/agorschema" migrate
echo "done: use '. $VENV/bin/activate' to run agorschema yourself"
