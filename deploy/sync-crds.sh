#!/usr/bin/env bash
# Copies the generated CRDs (crds/*.yaml, written by the operator's generator) into the Helm
# chart (charts/slinky/crds/), where Helm installs them before the chart's templates.
# Run it after every change to the CRDs; tests/manifests/check.sh fails while the two differ.
#
#   bash deploy/sync-crds.sh          # copy
#   bash deploy/sync-crds.sh --check  # only report whether they differ (exit 1 if so)
set -euo pipefail
cd "$(dirname "$0")/.."

src=crds
dst=charts/slinky/crds
mode=${1:-copy}

shopt -s nullglob
files=("$src"/*.yaml)
if [ ${#files[@]} -eq 0 ]; then
  echo "sync-crds: no $src/*.yaml (the operator's CRDs are not generated yet)" >&2
  exit 1
fi

stale=0
for f in "${files[@]}"; do
  name=$(basename "$f")
  if ! cmp -s "$f" "$dst/$name"; then
    stale=1
    if [ "$mode" = --check ]; then
      echo "sync-crds: $dst/$name differs from $f" >&2
    else
      install -D -m 0644 "$f" "$dst/$name"
      echo "sync-crds: $f -> $dst/$name"
    fi
  fi
done
# CRDs that no longer exist in crds/.
for f in "$dst"/*.yaml; do
  name=$(basename "$f")
  if [ ! -e "$src/$name" ]; then
    stale=1
    if [ "$mode" = --check ]; then
      echo "sync-crds: $f has no counterpart in $src/" >&2
    else
      rm -f "$f"
      echo "sync-crds: removed $f"
    fi
  fi
done
if [ "$mode" = --check ]; then
  exit $stale
fi
echo "sync-crds: $dst is up to date"
