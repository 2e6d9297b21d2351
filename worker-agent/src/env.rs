//! The step's environment: the user's exported variables plus what slurmd adds.

use std::collections::BTreeMap;

use slurm_core::parse::hostlist;

use crate::step::{StepId, StepSpec};

/// Variables the agent manages: a stale copy in the user's exported environment (a job
/// submitted from inside another job) is removed before the step's own values are added,
/// so a non-array job never sees `SLURM_ARRAY_TASK_ID` from its submitter.
const MANAGED: &[&str] = &[
    "SLURM_JOB_ID",
    "SLURM_JOBID",
    "SLURM_JOB_NAME",
    "SLURM_JOB_NODELIST",
    "SLURM_NODELIST",
    "SLURM_NNODES",
    "SLURM_JOB_NUM_NODES",
    "SLURM_NTASKS",
    "SLURM_NPROCS",
    "SLURM_CPUS_PER_TASK",
    "SLURM_CPUS_ON_NODE",
    "SLURM_MEM_PER_NODE",
    "SLURM_JOB_PARTITION",
    "SLURM_JOB_ACCOUNT",
    "SLURM_SUBMIT_DIR",
    "SLURM_SUBMIT_HOST",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "SLURM_PROCID",
    "SLURM_LOCALID",
    "SLURM_NODEID",
    "SLURM_STEP_ID",
    "SLURM_STEPID",
    "SLURM_STEP_NODELIST",
    "SLURM_STEP_NUM_NODES",
    "SLURM_STEP_NUM_TASKS",
    "SLURM_JOB_UID",
    "SLURM_JOB_GID",
    "SLURM_JOB_USER",
    "SLURM_CLUSTER_NAME",
    "SLURMD_NODENAME",
    "SLURM_JOB_GPUS",
    "SLURM_GPUS_ON_NODE",
    "GPU_DEVICE_ORDINAL",
];

/// Builds the step environment for node `node_name` of cluster `cluster_name`.
///
/// Starts from [`StepSpec::env`], removes stale managed variables, then sets:
/// `SLURM_JOB_ID`/`SLURM_JOBID`, `SLURM_JOB_NAME`, `SLURM_JOB_NODELIST`/`SLURM_NODELIST`
/// (compressed hostlist), `SLURM_NNODES`/`SLURM_JOB_NUM_NODES`, `SLURM_NTASKS`/`SLURM_NPROCS`,
/// `SLURM_CPUS_PER_TASK` (only with `-c`), `SLURM_CPUS_ON_NODE`, `SLURM_MEM_PER_NODE` (when
/// memory is allocated), `SLURM_JOB_PARTITION`, `SLURM_JOB_ACCOUNT`, `SLURM_SUBMIT_DIR`,
/// `SLURM_SUBMIT_HOST`, the `SLURM_ARRAY_*` set (array tasks only), `SLURM_PROCID`,
/// `SLURM_LOCALID`, `SLURM_NODEID`, `SLURM_STEP_ID`/`SLURM_STEPID` (numbered steps only: the
/// batch script has none, as in Slurm), `SLURM_JOB_UID`, `SLURM_JOB_GID`, `SLURM_JOB_USER`,
/// `SLURM_CLUSTER_NAME`, `SLURMD_NODENAME`, and with GPUs `SLURM_JOB_GPUS`,
/// `CUDA_VISIBLE_DEVICES`, `GPU_DEVICE_ORDINAL` (indices, comma-separated; no device cgroup
/// renumbers them) and `SLURM_GPUS_ON_NODE`. `ENVIRONMENT=BATCH` for the batch step and
/// `TMPDIR=/tmp` unless the user exported one.
pub fn step_environment(
    spec: &StepSpec,
    node_name: &str,
    cluster_name: &str,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = spec
        .env
        .iter()
        .filter(|(k, _)| !MANAGED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };

    let job_id = spec.job_id.to_string();
    set("SLURM_JOB_ID", job_id.clone());
    set("SLURM_JOBID", job_id);
    set("SLURM_JOB_NAME", spec.job_name.clone());

    let nodes: Vec<&str> = if spec.tasks.nodes.is_empty() {
        vec![node_name]
    } else {
        spec.tasks.nodes.iter().map(String::as_str).collect()
    };
    let nodelist = hostlist::compress(&nodes);
    set("SLURM_JOB_NODELIST", nodelist.clone());
    set("SLURM_NODELIST", nodelist);
    let nnodes = nodes.len().to_string();
    set("SLURM_NNODES", nnodes.clone());
    set("SLURM_JOB_NUM_NODES", nnodes);

    let ntasks = spec.tasks.ntasks.max(1).to_string();
    set("SLURM_NTASKS", ntasks.clone());
    set("SLURM_NPROCS", ntasks);
    if let Some(c) = spec.cpus_per_task {
        set("SLURM_CPUS_PER_TASK", c.to_string());
    }
    set("SLURM_CPUS_ON_NODE", spec.alloc.cpus.to_string());
    if spec.alloc.mem_mib > 0 {
        set("SLURM_MEM_PER_NODE", spec.alloc.mem_mib.to_string());
    }
    if !spec.partition.is_empty() {
        set("SLURM_JOB_PARTITION", spec.partition.clone());
    }
    if !spec.account.is_empty() {
        set("SLURM_JOB_ACCOUNT", spec.account.clone());
    }
    set("SLURM_SUBMIT_DIR", spec.submit_dir.clone());
    set("SLURM_SUBMIT_HOST", spec.submit_host.clone());

    if let Some(a) = &spec.array {
        set("SLURM_ARRAY_JOB_ID", a.array_job_id.to_string());
        set("SLURM_ARRAY_TASK_ID", a.task_id.to_string());
        set("SLURM_ARRAY_TASK_COUNT", a.task_count.to_string());
        set("SLURM_ARRAY_TASK_MIN", a.task_min.to_string());
        set("SLURM_ARRAY_TASK_MAX", a.task_max.to_string());
        if let Some(step) = a.task_step {
            set("SLURM_ARRAY_TASK_STEP", step.to_string());
        }
    }

    set("SLURM_PROCID", spec.tasks.procid.to_string());
    set("SLURM_LOCALID", spec.tasks.localid.to_string());
    set("SLURM_NODEID", spec.tasks.nodeid.to_string());
    if let StepId::Numbered(n) | StepId::Task { step: n, .. } = spec.step_id {
        set("SLURM_STEP_ID", n.to_string());
        set("SLURM_STEPID", n.to_string());
    }
    if let Some(layout) = &spec.step_layout {
        let names: Vec<&str> = layout.nodes.iter().map(String::as_str).collect();
        set("SLURM_STEP_NODELIST", hostlist::compress(&names));
        set("SLURM_STEP_NUM_NODES", layout.nodes.len().to_string());
        set("SLURM_STEP_NUM_TASKS", layout.ntasks.to_string());
    }
    set("SLURM_JOB_UID", spec.user.uid.to_string());
    set("SLURM_JOB_GID", spec.user.gid.to_string());
    set("SLURM_JOB_USER", spec.user.name.clone());
    set("SLURM_CLUSTER_NAME", cluster_name.to_owned());
    set("SLURMD_NODENAME", node_name.to_owned());

    if !spec.alloc.gpus.is_empty() {
        let list = spec
            .alloc
            .gpus
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        set("SLURM_JOB_GPUS", list.clone());
        set("CUDA_VISIBLE_DEVICES", list.clone());
        set("GPU_DEVICE_ORDINAL", list);
        set("SLURM_GPUS_ON_NODE", spec.alloc.gpus.len().to_string());
    }
    if spec.step_id == StepId::Batch {
        set("ENVIRONMENT", "BATCH".to_owned());
    }
    env.entry("TMPDIR".to_owned())
        .or_insert_with(|| "/tmp".to_owned());
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{ArrayInfo, StepCommand, StepUser};

    fn spec() -> StepSpec {
        let mut s = StepSpec::new(
            42,
            StepId::Batch,
            StepUser {
                name: "alice".into(),
                uid: 1000,
                gid: 100,
            },
            StepCommand::Script("#!/bin/sh\n".into()),
        );
        s.job_name = "train".into();
        s.partition = "gpu".into();
        s.account = "physics".into();
        s.submit_dir = "/home/alice".into();
        s.submit_host = "login1".into();
        s.alloc.cpus = 8;
        s.alloc.mem_mib = 4096;
        s.tasks.ntasks = 4;
        s.tasks.nodes = vec!["n01".into(), "n02".into(), "n03".into()];
        s.env = vec![
            ("PATH".into(), "/usr/bin".into()),
            ("SLURM_ARRAY_TASK_ID".into(), "9".into()),
            ("SLURM_JOB_ID".into(), "1".into()),
            ("HOME".into(), "/home/alice".into()),
        ];
        s
    }

    fn get<'a>(env: &'a BTreeMap<String, String>, k: &str) -> Option<&'a str> {
        env.get(k).map(String::as_str)
    }

    #[test]
    fn batch_environment() {
        let env = step_environment(&spec(), "n01", "alpha");
        let want = [
            ("SLURM_JOB_ID", "42"),
            ("SLURM_JOBID", "42"),
            ("SLURM_JOB_NAME", "train"),
            ("SLURM_JOB_NODELIST", "n[01-03]"),
            ("SLURM_NODELIST", "n[01-03]"),
            ("SLURM_NNODES", "3"),
            ("SLURM_JOB_NUM_NODES", "3"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_NPROCS", "4"),
            ("SLURM_CPUS_ON_NODE", "8"),
            ("SLURM_MEM_PER_NODE", "4096"),
            ("SLURM_JOB_PARTITION", "gpu"),
            ("SLURM_JOB_ACCOUNT", "physics"),
            ("SLURM_SUBMIT_DIR", "/home/alice"),
            ("SLURM_SUBMIT_HOST", "login1"),
            ("SLURM_PROCID", "0"),
            ("SLURM_LOCALID", "0"),
            ("SLURM_NODEID", "0"),
            ("SLURM_JOB_UID", "1000"),
            ("SLURM_JOB_GID", "100"),
            ("SLURM_JOB_USER", "alice"),
            ("SLURM_CLUSTER_NAME", "alpha"),
            ("SLURMD_NODENAME", "n01"),
            ("ENVIRONMENT", "BATCH"),
            ("TMPDIR", "/tmp"),
            ("PATH", "/usr/bin"),
            ("HOME", "/home/alice"),
        ];
        for (k, v) in want {
            assert_eq!(get(&env, k), Some(v), "{k}");
        }
        for absent in [
            "SLURM_CPUS_PER_TASK",
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_JOB_ID",
            "SLURM_STEP_ID",
            "SLURM_JOB_GPUS",
            "CUDA_VISIBLE_DEVICES",
            "SLURM_GPUS_ON_NODE",
        ] {
            assert_eq!(get(&env, absent), None, "{absent}");
        }
    }

    #[test]
    fn arrays_gpus_steps_and_options() {
        let mut s = spec();
        s.step_id = StepId::Numbered(3);
        s.cpus_per_task = Some(2);
        s.alloc.gpus = vec![1, 3];
        s.alloc.mem_mib = 0;
        s.tasks.procid = 5;
        s.tasks.localid = 1;
        s.tasks.nodeid = 2;
        s.env.push(("TMPDIR".into(), "/scratch".into()));
        s.array = Some(ArrayInfo {
            array_job_id: 40,
            task_id: 2,
            task_count: 5,
            task_min: 0,
            task_max: 8,
            task_step: Some(2),
        });
        let env = step_environment(&s, "n03", "alpha");
        let want = [
            ("SLURM_STEP_ID", "3"),
            ("SLURM_STEPID", "3"),
            ("SLURM_CPUS_PER_TASK", "2"),
            ("SLURM_JOB_GPUS", "1,3"),
            ("CUDA_VISIBLE_DEVICES", "1,3"),
            ("GPU_DEVICE_ORDINAL", "1,3"),
            ("SLURM_GPUS_ON_NODE", "2"),
            ("SLURM_ARRAY_JOB_ID", "40"),
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_PROCID", "5"),
            ("SLURM_LOCALID", "1"),
            ("SLURM_NODEID", "2"),
            ("TMPDIR", "/scratch"),
        ];
        for (k, v) in want {
            assert_eq!(get(&env, k), Some(v), "{k}");
        }
        assert_eq!(get(&env, "SLURM_MEM_PER_NODE"), None);
        assert_eq!(get(&env, "ENVIRONMENT"), None);
    }

    #[test]
    fn single_node_without_node_list() {
        let mut s = spec();
        s.tasks.nodes.clear();
        s.partition.clear();
        let env = step_environment(&s, "solo", "c");
        assert_eq!(get(&env, "SLURM_JOB_NODELIST"), Some("solo"));
        assert_eq!(get(&env, "SLURM_NNODES"), Some("1"));
        assert_eq!(get(&env, "SLURM_JOB_PARTITION"), None);
    }
}
