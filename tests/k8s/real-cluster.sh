#!/usr/bin/env bash
# The same scenarios as tests/k8s/run.sh, against a real cluster (kind, EKS) through kubectl:
#   bash tests/k8s/real-cluster.sh                    # $KUBECONFIG or ~/.kube/config
#   bash tests/k8s/real-cluster.sh --image slinky:dev # the SlurmCluster's image (kind: loaded)
#
# By default the operator must already run in the cluster (the chart installs it:
# docs/kubernetes-testing.md), and every scenario runs, including those that need the
# Slurm controller (a terminating worker pod drains its node). With --local-operator the
# script starts `slinky operator` here instead (SLINKY_BIN or target/debug/slinky) — it
# cannot reach the controller's Service from outside, so those scenarios are skipped.
#
# It applies crds/ (--skip-crds to keep the installed ones), the namespace `slurm` and
# examples/k8s/*.yaml, deletes one static worker pod twice and raises cpu-partition's nodes
# to 12: run it on a scratch cluster, not a production one. Clean up with
#   kubectl delete -f examples/k8s/ ; kubectl delete namespace slurm
set -euo pipefail
cd "$(dirname "$0")/../.."

kubeconfig=${KUBECONFIG:-$HOME/.kube/config}
args=()
local_operator=0
for a in "$@"; do
  if [ "$a" = --local-operator ]; then local_operator=1; else args+=("$a"); fi
done
command -v kubectl >/dev/null || { echo "real-cluster.sh: kubectl not found" >&2; exit 1; }
kubectl --kubeconfig "$kubeconfig" version >/dev/null || { echo "real-cluster.sh: cannot reach the cluster of $kubeconfig" >&2; exit 1; }

if [ "$local_operator" = 0 ]; then
  args+=(--no-operator)
fi
# run.sh sets up the Python environment and finds the binary; it passes the options on.
exec bash tests/k8s/run.sh --kubeconfig "$kubeconfig" --timeout 180 "${args[@]}"
