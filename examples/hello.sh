#!/bin/bash
#SBATCH --job-name=hello
#SBATCH --output=hello-%j.out
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --time=00:05:00

# A first batch job: where it ran and what Slurm told it.
echo "Hello from job $SLURM_JOB_ID ($SLURM_JOB_NAME) on $(hostname)"
echo "node list:     $SLURM_JOB_NODELIST"
echo "partition:     $SLURM_JOB_PARTITION"
echo "cpus on node:  $SLURM_CPUS_ON_NODE"
echo "submitted from $SLURM_SUBMIT_DIR"
sleep 5
echo "done"
