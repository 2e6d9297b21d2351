//! `salloc`: obtain an allocation and run a command (default: the user's shell) on this
//! host with the allocation's `SLURM_*` variables; `srun` inside it creates steps in the
//! allocation. The allocation is released when the command exits.

use super::srun::{self, Allocation};
use super::{Output, Step, VERSION_LINE};
use crate::model::{ExitStatus, JobState};
use crate::parse::hostlist;
use crate::parse::sbatch::{SubmitContext, parse_command_line};
use crate::proto::JobQuery;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

pub const PROG: &str = "salloc";

/// A parsed salloc command line.
#[derive(Debug, Clone, PartialEq)]
pub struct SallocArgs {
    pub spec: crate::model::JobSpec,
    pub ntasks_given: bool,
    pub cpus_per_task_given: bool,
    pub quiet: bool,
    /// The command (empty: the user's shell).
    pub command: Vec<String>,
    pub warnings: Vec<String>,
}

/// Parses salloc's command line (without the program name).
pub fn parse_args(args: &[String]) -> Result<Step<SallocArgs>, Output> {
    let (opts, command) = srun::split_options(PROG, args)?;
    let mut alloc_args = Vec::new();
    let mut quiet = false;
    let (mut ntasks_given, mut cpus_given) = (false, false);
    for o in opts {
        if o.own {
            match o.name.as_str() {
                "quiet" => quiet = true,
                "help" => return Ok(Step::Exit(Output::ok(USAGE))),
                "usage" => return Ok(Step::Exit(Output::ok(USAGE))),
                "version" => return Ok(Step::Exit(Output::ok(format!("{VERSION_LINE}\n")))),
                _ => {}
            }
            continue;
        }
        match o.name.as_str() {
            "n" | "ntasks" => ntasks_given = true,
            "c" | "cpus-per-task" => cpus_given = true,
            _ => {}
        }
        alloc_args.push(match (&o.value, o.name.chars().count()) {
            (Some(v), 1) => format!("-{}{v}", o.name),
            (Some(v), _) => format!("--{}={v}", o.name),
            (None, 1) => format!("-{}", o.name),
            (None, _) => format!("--{}", o.name),
        });
    }
    let ctx = SubmitContext::at(super::now());
    let req = parse_command_line(&alloc_args, &ctx)
        .and_then(|c| c.into_request(Some("#!/bin/sh\n")))
        .map_err(|e| Output::fail(format!("{PROG}: error: {}", e.message), 1))?;
    let mut spec = req.spec;
    if !alloc_args
        .iter()
        .any(|a| a.starts_with("-J") || a.starts_with("--job-name"))
    {
        spec.name = "interactive".to_owned();
    }
    Ok(Step::Run(SallocArgs {
        spec,
        ntasks_given,
        cpus_per_task_given: cpus_given,
        quiet,
        command,
        warnings: req.warnings,
    }))
}

/// The variables the command gets, on top of the caller's environment.
pub fn allocation_env(
    a: &SallocArgs,
    alloc: &Allocation,
    cluster: &str,
    cwd: &str,
    host: &str,
) -> Vec<(String, String)> {
    let id = alloc.job_id.to_string();
    let names: Vec<&str> = alloc.nodes.iter().map(String::as_str).collect();
    let nodelist = hostlist::compress(&names);
    let nnodes = alloc.nodes.len().to_string();
    let mut env = vec![
        ("SLURM_JOB_ID".to_owned(), id.clone()),
        ("SLURM_JOBID".to_owned(), id),
        ("SLURM_JOB_NAME".to_owned(), a.spec.name.clone()),
        ("SLURM_JOB_NODELIST".to_owned(), nodelist.clone()),
        ("SLURM_NODELIST".to_owned(), nodelist),
        ("SLURM_JOB_NUM_NODES".to_owned(), nnodes.clone()),
        ("SLURM_NNODES".to_owned(), nnodes),
        ("SLURM_CLUSTER_NAME".to_owned(), cluster.to_owned()),
        ("SLURM_SUBMIT_DIR".to_owned(), cwd.to_owned()),
        ("SLURM_SUBMIT_HOST".to_owned(), host.to_owned()),
    ];
    if a.ntasks_given {
        env.push(("SLURM_NTASKS".to_owned(), a.spec.ntasks.to_string()));
        env.push(("SLURM_NPROCS".to_owned(), a.spec.ntasks.to_string()));
    }
    if a.cpus_per_task_given {
        env.push((
            "SLURM_CPUS_PER_TASK".to_owned(),
            a.spec.cpus_per_task.to_string(),
        ));
    }
    if let Some(job) = &alloc.job {
        env.push(("SLURM_JOB_PARTITION".to_owned(), job.partition.clone()));
        if let Some(first) = job.allocation.first() {
            env.push(("SLURM_CPUS_ON_NODE".to_owned(), first.cpus.to_string()));
            if first.mem_mb > 0 {
                env.push(("SLURM_MEM_PER_NODE".to_owned(), first.mem_mb.to_string()));
            }
        }
        if !job.spec.account.is_empty() {
            env.push(("SLURM_JOB_ACCOUNT".to_owned(), job.spec.account.clone()));
        }
    }
    env
}

/// Runs `salloc`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match super::utf8_args(PROG, args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    let a = match parse_args(&args) {
        Ok(Step::Run(a)) => a,
        Ok(Step::Exit(out)) | Err(out) => return out.emit(),
    };
    for w in &a.warnings {
        eprintln!("{PROG}: {w}");
    }
    match super::rpc::block_on(run(a)).and_then(|r| r) {
        Ok(code) => ExitCode::from(code),
        Err(e) => Output::fail(format!("{PROG}: error: {e}"), 1).emit(),
    }
}

async fn run(a: SallocArgs) -> Result<u8, super::rpc::RpcError> {
    let mut session = super::rpc::Session::connect().await?;
    let env = srun::environment();
    let alloc = match srun::allocate(PROG, &mut session, a.spec.clone(), env, a.quiet).await {
        Ok(alloc) => alloc,
        Err(code) => return Ok(code),
    };
    let job_id = alloc.job_id;
    if !a.quiet {
        eprintln!("{PROG}: Granted job allocation {job_id}");
    }
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let vars = allocation_env(&a, &alloc, &session.cluster.cluster_name, &cwd, &host);
    let command = if a.command.is_empty() {
        vec![std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".to_owned())]
    } else {
        a.command.clone()
    };
    let child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .envs(vars)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{PROG}: error: {}: {e}", command[0]);
            srun::release(&session, job_id, ExitStatus { code: 1, signal: 0 }).await;
            return Ok(1);
        }
    };
    // Ctrl-C belongs to the command (the terminal sends it there too); salloc stays.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let mut check = tokio::time::interval(Duration::from_secs(2));
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = async { sigint.as_mut().unwrap().recv().await }, if sigint.is_some() => {}
            _ = check.tick() => {
                let list = session.list_jobs(JobQuery { job_ids: vec![job_id] }).await;
                if let Ok(list) = list
                    && list.jobs.iter().any(|j| j.id == job_id && j.state != JobState::Running)
                {
                    eprintln!("{PROG}: Job allocation {job_id} has been revoked.");
                    if let Some(pid) = child.id() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid as i32),
                            nix::sys::signal::Signal::SIGHUP,
                        );
                    }
                    break child.wait().await;
                }
            }
        }
    };
    let exit = match status {
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            ExitStatus {
                code: s.code().unwrap_or(0),
                signal: s.signal().unwrap_or(0),
            }
        }
        Err(_) => ExitStatus { code: 1, signal: 0 },
    };
    if !a.quiet {
        eprintln!("{PROG}: Relinquishing job allocation {job_id}");
    }
    srun::release(&session, job_id, exit).await;
    Ok(srun::exit_code(exit))
}

const USAGE: &str = "\
Usage: salloc [-N numnodes|[min nodes]-[max nodes]] [-n num-processors]
              [-c ncpus] [-p partition] [-t minutes] [-A account] [-q qos]
              [-J jobname] [--mem=MB] [--gres=list] [-G gpus] [-Q]
              [executable [args...]]
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_and_options() {
        let args: Vec<String> = ["-N", "2", "-n", "4", "srun", "-l", "hostname"]
            .map(String::from)
            .to_vec();
        let Ok(Step::Run(a)) = parse_args(&args) else {
            panic!()
        };
        assert_eq!(a.command, ["srun", "-l", "hostname"]);
        assert_eq!((a.spec.min_nodes, a.spec.ntasks), (2, 4));
        assert!(a.ntasks_given);
        let alloc = Allocation {
            job_id: 7,
            ours: true,
            nodes: vec!["n1".into(), "n2".into()],
            job: None,
            holder: None,
        };
        let env = allocation_env(&a, &alloc, "c", "/w", "h");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("SLURM_JOB_ID"), Some("7"));
        assert_eq!(get("SLURM_JOB_NODELIST"), Some("n[1-2]"));
        assert_eq!(get("SLURM_NTASKS"), Some("4"));
        assert_eq!(get("SLURM_JOB_NUM_NODES"), Some("2"));
        let Ok(Step::Run(a)) = parse_args(&[]) else {
            panic!()
        };
        assert!(a.command.is_empty());
    }
}
