#!/bin/bash
#SBATCH --job-name=array-demo
#SBATCH --array=0-7%2
#SBATCH --output=array-%A_%a.out
#SBATCH --time=1:00

# Eight tasks, at most two at a time.
echo "task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT (array job $SLURM_ARRAY_JOB_ID)"
sleep 2
