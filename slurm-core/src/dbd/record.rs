//! What accounting records of a job: the controller's [`Job`] flattened into an [`AcctJob`],
//! with the TRES strings and node list as sacct prints them.

use crate::format::{self, FormatEnv, mem_exact};
use crate::model::{Gres, Job};
use crate::parse::hostlist;
use crate::proto::AcctJob;

/// A TRES string as sacct prints it: names in alphabetical order
/// (`billing=2,cpu=2,gres/gpu=1,mem=4G,node=1`), zero memory left out.
pub fn acct_tres(cpus: u64, mem_mb: u64, nodes: u64, billing: bool, gres: &[Gres]) -> String {
    let mut parts: Vec<(String, String)> = Vec::new();
    if billing {
        parts.push(("billing".into(), cpus.to_string()));
    }
    parts.push(("cpu".into(), cpus.to_string()));
    for (name, count) in format::gres_totals(gres) {
        parts.push((format!("gres/{name}"), count.to_string()));
    }
    if mem_mb > 0 {
        parts.push(("mem".into(), mem_exact(mem_mb)));
    }
    parts.push(("node".into(), nodes.to_string()));
    parts.sort();
    parts
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The accounting record of a job as it is now. `def_mem_per_cpu_mb` is the cluster's
/// DefMemPerCPU (the memory a job without a request asks for).
pub fn acct_job(job: &Job, def_mem_per_cpu_mb: Option<u64>) -> AcctJob {
    let env = FormatEnv {
        def_mem_per_cpu_mb,
        ..FormatEnv::default()
    };
    let req_cpus = format::requested_cpus(job);
    let req_nodes = job.spec.min_nodes.max(1);
    let req_tres = acct_tres(
        u64::from(req_cpus),
        format::requested_mem(job, &env),
        u64::from(req_nodes),
        true,
        &format::requested_gres(job),
    );
    let alloc_cpus: u32 = job
        .allocation
        .iter()
        .map(|a| a.cpus)
        .fold(0, u32::saturating_add);
    let alloc_mem: u64 = job
        .allocation
        .iter()
        .map(|a| a.mem_mb)
        .fold(0, u64::saturating_add);
    let alloc_gres: Vec<Gres> = job.allocation.iter().flat_map(|a| a.gres.clone()).collect();
    let alloc_nodes = u32::try_from(job.allocation.len()).unwrap_or(u32::MAX);
    let alloc_tres = if job.allocation.is_empty() {
        String::new()
    } else {
        acct_tres(
            u64::from(alloc_cpus),
            alloc_mem,
            u64::from(alloc_nodes),
            true,
            &alloc_gres,
        )
    };
    let batch = job.allocation.first();
    let batch_tres = batch.map_or_else(String::new, |a| {
        acct_tres(u64::from(a.cpus), a.mem_mb, 1, false, &a.gres)
    });
    let exit = job.exit.unwrap_or(crate::model::ExitStatus::SUCCESS);
    AcctJob {
        job_id: job.id,
        array_job_id: job.array_job_id,
        array_task_id: job.array_task_id,
        array_pending: job
            .array_pending
            .as_ref()
            .filter(|a| !a.indices.is_empty())
            .map(ToString::to_string),
        name: job.spec.name.clone(),
        user: job.spec.user.clone(),
        uid: job.spec.uid,
        gid: job.spec.gid,
        account: job.spec.account.clone(),
        partition: job.partition.clone(),
        qos: job.spec.qos.clone(),
        state: job.state,
        reason: format::reason_text(job).to_owned(),
        cancelled_by: job.cancelled_by,
        exit_code: exit.code,
        exit_signal: exit.signal,
        submit: job.submit_time,
        eligible: job.eligible_time,
        start: job.start_time,
        end: job.end_time,
        time_limit: job.time_limit,
        nodelist: hostlist::compress(&job.node_names()),
        batch_host: batch.map(|a| a.node.clone()).unwrap_or_default(),
        alloc_nodes,
        alloc_cpus,
        batch_cpus: batch.map_or(0, |a| a.cpus),
        batch_tres,
        req_cpus,
        req_nodes,
        alloc_tres,
        req_tres,
        work_dir: job.spec.work_dir.clone(),
        priority: job.priority,
        restarts: job.restarts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobSpec, JobState, MemRequest, NodeAllocation, PendingReason, TimeLimit};

    fn job() -> Job {
        let spec = JobSpec {
            name: "train".into(),
            user: "alice".into(),
            uid: 1001,
            gid: 100,
            account: "physics".into(),
            ntasks: 2,
            mem: MemRequest::PerCpu(1024),
            gpus: crate::model::GpuRequest {
                per_job: Some(Gres::new("gpu", None, 1)),
                ..Default::default()
            },
            ..JobSpec::default()
        };
        Job {
            reason: PendingReason::Resources,
            priority: 10,
            partition: "gpu".into(),
            time_limit: TimeLimit::minutes(30),
            submit_time: 1000,
            eligible_time: Some(1000),
            ..Job::new(7, JobState::Pending, spec)
        }
    }

    #[test]
    fn pending_job() {
        let a = acct_job(&job(), None);
        assert_eq!(a.req_tres, "billing=2,cpu=2,gres/gpu=1,mem=2G,node=1");
        assert_eq!(a.alloc_tres, "");
        assert_eq!(a.nodelist, "");
        assert_eq!((a.req_cpus, a.alloc_cpus), (2, 0));
        assert_eq!(a.reason, "Resources");
        assert_eq!((a.exit_code, a.exit_signal), (0, 0));
    }

    #[test]
    fn running_job() {
        let mut j = job();
        j.state = JobState::Running;
        j.reason = PendingReason::None;
        j.start_time = Some(1010);
        j.allocation = vec![
            NodeAllocation {
                node: "gpu-002".into(),
                cpus: 2,
                mem_mb: 2048,
                gres: vec![Gres::new("gpu", Some("a100"), 1)],
            },
            NodeAllocation {
                node: "gpu-001".into(),
                cpus: 2,
                mem_mb: 1000,
                gres: vec![],
            },
        ];
        let a = acct_job(&j, None);
        assert_eq!(a.alloc_tres, "billing=4,cpu=4,gres/gpu=1,mem=3048M,node=2");
        assert_eq!(a.batch_tres, "cpu=2,gres/gpu=1,mem=2G,node=1");
        assert_eq!(a.nodelist, "gpu-[001-002]");
        assert_eq!(a.batch_host, "gpu-002");
        assert_eq!((a.alloc_cpus, a.batch_cpus, a.alloc_nodes), (4, 2, 2));
    }
}
