#!/bin/bash
#SBATCH --job-name=gpu-check
#SBATCH --partition=gpu
#SBATCH --gres=gpu:2
#SBATCH --cpus-per-task=1
#SBATCH --output=gpu-%j.out

# CUDA_VISIBLE_DEVICES names the GPUs this job was given.
echo "GPUs: $SLURM_JOB_GPUS (CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES)"
if command -v nvidia-smi >/dev/null; then nvidia-smi -L; fi
