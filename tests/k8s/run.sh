#!/usr/bin/env bash
# The operator end to end against kmock (a Kubernetes API emulator from PyPI): the real
# `slinky operator` binary, as a process with KUBECONFIG pointing at kmock, applies the
# example SlurmCluster and Partitions' objects; see tests/k8s/run.py for the scenarios.
#   bash tests/k8s/run.sh [run.py options]       # e.g. --only recreated
# Needs python3 (3.11+) with venv and pip, PyPI the first time (tests/k8s/requirements.txt,
# installed into $HOME/.cache/slinky/venv-k8s and reused while it is unchanged), and the
# slinky binary: $SLINKY_BIN, else $CARGO_TARGET_DIR/debug/slinky, else target/debug/slinky
# (build it with `cargo build --bin slinky`).
# For a real cluster (kind, EKS) use tests/k8s/real-cluster.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${SLINKY_K8S_VENV:-$HOME/.cache/slinky/venv-k8s}"
req=tests/k8s/requirements.txt
stamp="$venv/.slinky-requirements"
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
  echo "== setting up $venv"
  if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    if ! "$python" -m venv "$venv"; then
      if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv "$venv"
      else
        echo "run.sh: '$python -m venv' failed (install python3-venv)" >&2
        exit 1
      fi
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

if [ -z "${SLINKY_BIN:-}" ]; then
  for candidate in "${CARGO_TARGET_DIR:-}/debug/slinky" target/debug/slinky; do
    if [ -x "$candidate" ]; then SLINKY_BIN=$candidate; break; fi
  done
fi
if [ -z "${SLINKY_BIN:-}" ]; then
  echo "run.sh: no slinky binary (set SLINKY_BIN or run cargo build --bin slinky)" >&2
  exit 1
fi
export SLINKY_BIN NO_COLOR=1

exec "$venv/bin/python" tests/k8s/run.py "$@"
