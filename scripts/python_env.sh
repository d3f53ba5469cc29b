#!/usr/bin/env bash
# Creates (once) the virtualenv the server integration tests run in: <repo>/.venv with the pinned
# packages of tests/server/requirements.txt. Idempotent: does nothing when they are installed.
# Needs network access to PyPI the first time; fails with a clear message without it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KAIYUAN_VENV:-$repo/.venv}"
req="$repo/tests/server/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv" || { echo "python_env.sh: cannot create a virtualenv with $python (install python3-venv)" >&2; exit 1; }
fi
if ! "$venv/bin/pip" install --disable-pip-version-check -q -r "$req"; then
  echo "python_env.sh: installing $req failed. The server tests need the pinned 'openai' client from PyPI:" >&2
  echo "  without network access, provide a virtualenv with those packages at $venv (or KAIYUAN_VENV)." >&2
  exit 1
fi
echo "$want" > "$stamp"
