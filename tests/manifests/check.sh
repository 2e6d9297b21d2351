#!/usr/bin/env bash
# Validates the chart, deploy/ and the example resources without a Kubernetes cluster:
# see tests/manifests/check.py for the list. Needs python3 (3.10+) with venv and pip, and
# the PyPI registry the first time (packages: tests/manifests/requirements.txt, installed
# into $HOME/.cache/slinky/venv and reused while requirements.txt is unchanged).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${SLINKY_MANIFESTS_VENV:-$HOME/.cache/slinky/venv}"
req=tests/manifests/requirements.txt
stamp="$venv/.slinky-requirements"

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "check.sh: $python not found" >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
  echo "== setting up $venv"
  if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    if ! "$python" -m venv "$venv"; then
      # Debian's python3 without python3-venv: install it (CI runs as root).
      if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv "$venv"
      else
        echo "check.sh: '$python -m venv' failed (install python3-venv)" >&2
        exit 1
      fi
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

exec "$venv/bin/python" tests/manifests/check.py "$@"
