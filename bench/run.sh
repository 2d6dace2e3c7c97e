#!/usr/bin/env bash
# Install the two engines compared with Millésime — OpenFisca-Core from PyPI into bench/.venv,
# Publicodes from npm into bench/publicodes/node_modules (both git-ignored, never needed by the
# tests) — then run the benchmark: bench/run.sh [--n 120000] [--single 2000].
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
  "$here/.venv/bin/pip" install --quiet --upgrade pip
fi
"$here/.venv/bin/pip" install --quiet "openfisca-core>=43" -e "$here/..[batch,vector]"
if command -v npm >/dev/null 2>&1; then
  (cd "$here/publicodes" && npm install --silent --no-audit --no-fund >/dev/null)
else
  echo "npm not found: Publicodes will be skipped" >&2
fi
exec "$here/.venv/bin/python" "$here/run.py" "$@"
