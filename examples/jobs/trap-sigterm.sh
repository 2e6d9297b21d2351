#!/bin/bash
#SBATCH --job-name=graceful
#SBATCH --output=graceful-%j.out
#SBATCH --signal=B:USR1@30

# `scancel` sends SIGTERM (after SIGCONT), then SIGKILL after KillWait: save state first.
trap 'echo "SIGTERM: checkpointing"; exit 0' TERM
trap 'echo "USR1: 30 s left before the time limit"' USR1
echo "working..."
while true; do sleep 1; done
