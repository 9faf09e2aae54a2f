#!/usr/bin/env bash
# The Python clients the tests drive (test/clients-frappe-py.test.ts), in a
# virtual environment inside the clone: .venv-clients/. Used by .ci/run and,
# when the folder is missing, by the test itself, so a developer's `npm test`
# installs it the same way. Prints the interpreter's path on its last line.
#
# frappe-client on PyPI (module frappeclient) exists only as a pre-release,
# 0.1.0.dev0, a copy of github.com/frappe/frappe-client published by a third
# party; pip picks it because it is the only version. It is pinned here so a
# new upload cannot change what the tests prove.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-clients
PY="$VENV/bin/python"
FRAPPE_CLIENT='frappe-client==0.1.0.dev0'

if [ -x "$PY" ] && "$PY" -c 'import frappeclient, requests' 2>/dev/null; then
  echo "$PY"
  exit 0
fi
python3 -m venv --clear "$VENV" >&2
"$PY" -m pip install --quiet --disable-pip-version-check --no-input "$FRAPPE_CLIENT" >&2
"$PY" -c 'import frappeclient, requests' >&2
echo "$PY"
