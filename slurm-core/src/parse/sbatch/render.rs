//! [`JobSpec`] → sbatch arguments.

use super::request::default_ntasks;
use crate::model::{Gres, JobSpec, MemRequest};

/// Prints a job spec as sbatch arguments (`--name=value` form, defaults left out), such that
/// [`super::parse_sbatch`] of them gives the spec back.
///
/// Not covered: `user`, `uid`, `gid` (not sbatch options). Some specs have no spelling and
/// come back normalised: `MemRequest::PerNode(0)` (printed `--mem=0`, read as
/// [`MemRequest::WholeNode`]), `--begin` before 1970-01-12 (printed as `uts<SECONDS>`, which
/// Slurm only accepts from 1000000), a one-condition dependency marked `any`, node counts
/// that sbatch adjusts (fewer tasks than nodes, fewer nodes than `--nodelist` names),
/// `-o none`.
pub fn render_sbatch_args(spec: &JobSpec) -> Vec<String> {
    let mut args = Args::default();
    args.text("job-name", &spec.name);
    args.text("account", &spec.account);
    args.list("partition", &spec.partitions, ",");
    args.text("qos", &spec.qos);
    if let Some(limit) = spec.time_limit {
        args.value("time", limit);
    }
    render_counts(&mut args, spec);
    render_resources(&mut args, spec);
    render_scheduling(&mut args, spec);
    render_files(&mut args, spec);
    args.list("constraint", &spec.constraint, "&");
    args.list("nodelist", &spec.required_nodes, ",");
    args.list("exclude", &spec.excluded_nodes, ",");
    args.0
}

fn render_counts(args: &mut Args, spec: &JobSpec) {
    match spec.max_nodes {
        Some(max) => args.value("nodes", format!("{}-{max}", spec.min_nodes)),
        None if spec.min_nodes != 1 => args.value("nodes", spec.min_nodes),
        None => {}
    }
    if spec.ntasks != default_ntasks(spec) {
        args.value("ntasks", spec.ntasks);
    }
    if spec.cpus_per_task != 1 {
        args.value("cpus-per-task", spec.cpus_per_task);
    }
    if let Some(n) = spec.ntasks_per_node {
        args.value("ntasks-per-node", n);
    }
}

fn render_resources(args: &mut Args, spec: &JobSpec) {
    match spec.mem {
        MemRequest::Default => {}
        MemRequest::PerNode(mb) => args.value("mem", mb),
        MemRequest::WholeNode => args.value("mem", 0),
        MemRequest::PerCpu(mb) => args.value("mem-per-cpu", mb),
    }
    let gres: Vec<String> = spec.gres_per_node.iter().map(Gres::to_string).collect();
    args.list("gres", &gres, ",");
    let gpus = &spec.gpus;
    for (name, request) in [
        ("gpus", &gpus.per_job),
        ("gpus-per-node", &gpus.per_node),
        ("gpus-per-task", &gpus.per_task),
    ] {
        if let Some(gres) = request {
            match &gres.kind {
                Some(kind) => args.value(name, format!("{kind}:{}", gres.count)),
                None => args.value(name, gres.count),
            }
        }
    }
    args.flag("exclusive", spec.exclusive);
}

fn render_scheduling(args: &mut Args, spec: &JobSpec) {
    if !spec.dependency.is_empty() {
        args.value("dependency", &spec.dependency);
    }
    args.flag("hold", spec.hold);
    if let Some(at) = spec.begin {
        args.value("begin", format!("uts{at}"));
    }
    if let Some(array) = &spec.array {
        args.value("array", array);
    }
    if spec.nice != 0 {
        args.value("nice", spec.nice);
    }
    match spec.requeue {
        Some(true) => args.flag("requeue", true),
        Some(false) => args.flag("no-requeue", true),
        None => {}
    }
    if let Some(comment) = &spec.comment {
        args.value("comment", comment);
    }
    if let Some(signal) = &spec.signal {
        args.value("signal", signal);
    }
}

fn render_files(args: &mut Args, spec: &JobSpec) {
    args.text("chdir", &spec.work_dir);
    for (name, path) in [
        ("output", &spec.stdout),
        ("error", &spec.stderr),
        ("input", &spec.stdin),
    ] {
        if let Some(path) = path {
            args.value(name, path);
        }
    }
    if let Some(mode) = spec.open_mode {
        args.value("open-mode", mode);
    }
    if let Some(export) = &spec.export {
        args.value("export", export);
    }
}

/// The argument list being built.
#[derive(Default)]
struct Args(Vec<String>);

impl Args {
    fn value(&mut self, name: &str, value: impl std::fmt::Display) {
        self.0.push(format!("--{name}={value}"));
    }

    /// A text value, left out when empty.
    fn text(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.value(name, value);
        }
    }

    /// A joined list, left out when empty.
    fn list(&mut self, name: &str, items: &[String], sep: &str) {
        if !items.is_empty() {
            self.value(name, items.join(sep));
        }
    }

    fn flag(&mut self, name: &str, on: bool) {
        if on {
            self.0.push(format!("--{name}"));
        }
    }
}
