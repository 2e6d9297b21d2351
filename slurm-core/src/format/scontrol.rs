//! `scontrol show job | node | partition`: Slurm's multi-line `Key=Value` records.
//!
//! Each record ends with a blank line (`\n\n`), as Slurm's `slurm_sprint_*` functions do, so
//! records can simply be concatenated. With `one_liner` (`scontrol -o`) a record is a single
//! line.
//!
//! Fields the model does not track print constants — Slurm's value when the feature is unused
//! or at its default:
//!
//! * job: `MCS_label=N/A`, `BatchFlag=1` (0 for srun/salloc allocations), `Reboot=0`, `TimeMin=N/A`, `Deadline=N/A`,
//!   `SuspendTime=None`, `SecsPreSuspend=0`, `ReqB:S:C:T=0:0:*:*`, `Socks/Node=*`,
//!   `NtasksPerN:B:S:C=N:0:*:*` (N from `--ntasks-per-node`, else 0), `CoreSpec=*`,
//!   `MinTmpDiskNode=0`, `DelayBoot=00:00:00`, `Contiguous=0`, `Licenses=(null)`,
//!   `Network=(null)`, `Power=`; from [`JobExtras`](super::JobExtras) when given, else
//!   `AllocNode:Sid=(null):0`, `Command=(null)`, `Scheduler=Main`;
//! * node: `Owner=N/A`, `MCS_label=N/A`, `TmpDisk=0`, `CapWatts=n/a`,
//!   `CurrentWatts=0 AveWatts=0`, `ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s`;
//!   reported facts (`Arch`, `OS`, `CPULoad`, `FreeMem`, boot times, `Version`) come from
//!   [`NodeExtras`](super::NodeExtras);
//! * partition: `AllocNodes=ALL`, `QoS=N/A`, `DisableRootJobs=NO`, `ExclusiveUser=NO`,
//!   `GraceTime=0`, `Hidden=NO`, `LLN=NO`, `MaxCPUsPerNode=UNLIMITED`, `RootOnly=NO`,
//!   `ReqResv=NO`, `OverTimeLimit=NONE`, `PreemptMode=OFF`, `SelectTypeParameters=NONE`,
//!   `JobDefaults=(null)`, `MaxMemPerNode=UNLIMITED`.

use super::jobinfo as ji;
use super::squeue::share_text;
use super::{FormatEnv, mem_exact, oversubscribe_text, timefmt};
use crate::engine::NodeView;
use crate::model::{Gres, Job, JobState, PartitionConfig};
use crate::parse::hostlist;

/// What `scontrol show job N` prints (to stderr, exit status 1) when N is not a job.
pub const INVALID_JOB_ID: &str = "slurm_load_jobs error: Invalid job id specified";

/// What `scontrol show job` prints when there are no jobs at all.
pub const NO_JOBS: &str = "No jobs in the system";

/// The error line for an unknown job id (see [`INVALID_JOB_ID`]).
pub fn invalid_job_message() -> &'static str {
    INVALID_JOB_ID
}

/// The error line for an unknown node (`scontrol show node NAME`).
pub fn node_not_found(name: &str) -> String {
    format!("Node {name} not found")
}

/// The error line for an unknown partition (`scontrol show partition NAME`).
pub fn partition_not_found(name: &str) -> String {
    format!("Partition {name} not found")
}

fn line_end(one_liner: bool) -> &'static str {
    if one_liner { " " } else { "\n   " }
}

fn record_end(one_liner: bool) -> &'static str {
    if one_liner { "\n" } else { "\n\n" }
}

/// `scontrol show job` for one job.
pub fn show_job(job: &Job, env: &FormatEnv) -> String {
    show_job_with(job, env, false)
}

/// `scontrol show job` for several jobs; [`NO_JOBS`] (plus a newline) when there are none.
pub fn show_jobs<'a>(jobs: impl IntoIterator<Item = &'a Job>, env: &FormatEnv) -> String {
    let out: String = jobs.into_iter().map(|j| show_job(j, env)).collect();
    if out.is_empty() {
        format!("{NO_JOBS}\n")
    } else {
        out
    }
}

/// `scontrol [-o] show job` for one job.
pub fn show_job_with(job: &Job, env: &FormatEnv, one_liner: bool) -> String {
    let mut lines = job_head(job, env);
    lines.extend(job_times(job, env));
    lines.extend(job_placement(job, env));
    lines.extend(job_resources(job, env));
    lines.extend(job_io(job, env));
    lines.push("Power=".to_owned());
    lines.extend(job_tres_per(job));
    let end = line_end(one_liner);
    let mut out = lines.join(end);
    out.push_str(end);
    out.push_str(record_end(one_liner));
    out
}

fn job_head(job: &Job, env: &FormatEnv) -> Vec<String> {
    vec![
        job_id_line(job),
        format!(
            "UserId={}({}) GroupId={}({}) MCS_label=N/A",
            ji::user_name(job),
            job.spec.uid,
            ji::group_name(job, env),
            job.spec.gid
        ),
        format!(
            "Priority={} Nice={} Account={} QOS={}",
            job.priority,
            job.spec.nice,
            or_null(&job.spec.account),
            or_null(&job.spec.qos)
        ),
        format!(
            "JobState={} Reason={} Dependency={}",
            job.state_name(),
            ji::reason_text(job),
            ji::dependency_text(job)
        ),
        format!(
            "Requeue={} Restarts={} BatchFlag={} Reboot=0 ExitCode={}",
            u8::from(job.spec.requeue.unwrap_or(true)),
            job.restarts,
            u8::from(!env.job(job.id).interactive),
            job.exit.map_or_else(|| "0:0".to_owned(), |e| e.to_string())
        ),
    ]
}

fn job_id_line(job: &Job) -> String {
    let mut s = format!("JobId={} ", job.id);
    if ji::is_array(job) {
        let task = ji::array_task_text(job, false).unwrap_or_default();
        s.push_str(&format!(
            "ArrayJobId={} ArrayTaskId={task} ",
            job.array_job_id.unwrap_or(job.id)
        ));
        if let Some(n) = ji::pending_array(job).and_then(|a| a.max_running) {
            s.push_str(&format!("ArrayTaskThrottle={n} "));
        }
    }
    s.push_str(&format!("JobName={}", job.spec.name));
    s
}

fn job_times(job: &Job, env: &FormatEnv) -> Vec<String> {
    let extras = env.job(job.id);
    let start = ji::start_time(job);
    let end = if ji::ends_never(job, env.now) {
        "Unknown".to_owned()
    } else {
        match ji::end_time(job) {
            ji::EndTime::At(t) => env.iso_or_unknown(Some(t)),
            ji::EndTime::Never | ji::EndTime::Unset => "Unknown".to_owned(),
        }
    };
    let last_eval = extras.last_sched_eval.or(job.start_time);
    vec![
        format!(
            "RunTime={} TimeLimit={} TimeMin=N/A",
            timefmt::hms(ji::time_used(job, env.now)),
            timefmt::limit_hms(job.time_limit)
        ),
        format!(
            "SubmitTime={} EligibleTime={}",
            env.iso(job.submit_time),
            env.iso_or_unknown(job.eligible_time)
        ),
        format!(
            "AccrueTime={}",
            env.iso_or_unknown(extras.accrue_time.or(job.eligible_time))
        ),
        format!(
            "StartTime={} EndTime={end} Deadline=N/A",
            env.iso_or_unknown(start)
        ),
        format!(
            "SuspendTime=None SecsPreSuspend=0 LastSchedEval={} Scheduler={}",
            env.iso_or_unknown(last_eval),
            if extras.backfill { "Backfill" } else { "Main" }
        ),
    ]
}

fn job_placement(job: &Job, env: &FormatEnv) -> Vec<String> {
    let extras = env.job(job.id);
    let mut lines = vec![
        format!(
            "Partition={} AllocNode:Sid={}:{}",
            job.partition,
            extras.alloc_node.as_deref().unwrap_or("(null)"),
            extras.alloc_sid
        ),
        format!(
            "ReqNodeList={} ExcNodeList={}",
            nodes_or_null(&job.spec.required_nodes),
            nodes_or_null(&job.spec.excluded_nodes)
        ),
        format!("NodeList={}", ji::node_list(job)),
    ];
    if let Some(first) = job.allocation.first() {
        lines.push(format!("BatchHost={}", first.node));
    }
    lines
}

fn job_resources(job: &Job, env: &FormatEnv) -> Vec<String> {
    let (per_cpu, mem) = ji::mem_request(job, env);
    vec![
        format!(
            "NumNodes={} NumCPUs={} NumTasks={} CPUs/Task={} ReqB:S:C:T=0:0:*:*",
            num_nodes_text(job),
            ji::num_cpus(job),
            job.spec.ntasks,
            job.spec.cpus_per_task
        ),
        format!("TRES={}", ji::tres_text(job, env)),
        format!(
            "Socks/Node=* NtasksPerN:B:S:C={}:0:*:* CoreSpec=*",
            job.spec.ntasks_per_node.unwrap_or(0)
        ),
        format!(
            "MinCPUsNode={} MinMemory{}={} MinTmpDiskNode=0",
            ji::min_cpus_per_node(job),
            if per_cpu { "CPU" } else { "Node" },
            mem_exact(mem)
        ),
        format!(
            "Features={} DelayBoot=00:00:00",
            if job.spec.constraint.is_empty() {
                "(null)".to_owned()
            } else {
                job.spec.constraint.join("&")
            }
        ),
        format!(
            "OverSubscribe={} Contiguous=0 Licenses=(null) Network=(null)",
            share_text(job)
        ),
    ]
}

/// `NumNodes=`: a pending job shows its requested range (`1-4`) when it has a maximum.
fn num_nodes_text(job: &Job) -> String {
    let nodes = ji::num_nodes(job);
    match job.spec.max_nodes {
        Some(max) if job.state == JobState::Pending && max > 0 => {
            format!("{}-{max}", nodes.min(max))
        }
        _ => nodes.to_string(),
    }
}

fn job_io(job: &Job, env: &FormatEnv) -> Vec<String> {
    let mut lines = vec![
        format!(
            "Command={}",
            env.job(job.id).command.as_deref().unwrap_or("(null)")
        ),
        format!("WorkDir={}", job.spec.work_dir),
    ];
    if let Some(comment) = &job.spec.comment {
        lines.push(format!("Comment={comment} "));
    }
    lines.push(format!("StdErr={}", ji::stderr_path(job)));
    lines.push(format!("StdIn={}", ji::stdin_path(job)));
    lines.push(format!("StdOut={}", ji::stdout_path(job)));
    lines
}

/// The optional `TresPerJob` / `TresPerNode` / `TresPerTask` lines, in Slurm's order.
fn job_tres_per(job: &Job) -> Vec<String> {
    let per_job: Vec<Gres> = job.spec.gpus.per_job.iter().cloned().collect();
    let per_task: Vec<Gres> = job.spec.gpus.per_task.iter().cloned().collect();
    [
        ("TresPerJob", ji::tres_per(&per_job)),
        ("TresPerNode", ji::tres_per_node(job)),
        ("TresPerTask", ji::tres_per(&per_task)),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
    .collect()
}

fn or_null(s: &str) -> String {
    if s.is_empty() {
        "(null)".to_owned()
    } else {
        s.to_owned()
    }
}

fn nodes_or_null(nodes: &[String]) -> String {
    if nodes.is_empty() {
        "(null)".to_owned()
    } else {
        hostlist::compress(nodes)
    }
}

/// `scontrol show node` for one node. `partitions` are all partitions (for `Partitions=`).
pub fn show_node(node: &NodeView, partitions: &[PartitionConfig], env: &FormatEnv) -> String {
    show_node_with(node, partitions, env, false)
}

/// `scontrol show node` for several nodes, in the order given.
pub fn show_nodes<'a>(
    nodes: impl IntoIterator<Item = &'a NodeView>,
    partitions: &[PartitionConfig],
    env: &FormatEnv,
) -> String {
    nodes
        .into_iter()
        .map(|n| show_node(n, partitions, env))
        .collect()
}

/// `scontrol [-o] show node` for one node.
pub fn show_node_with(
    node: &NodeView,
    partitions: &[PartitionConfig],
    env: &FormatEnv,
    one_liner: bool,
) -> String {
    let c = &node.config;
    let x = env.node(&c.name);
    let mut lines = vec![
        format!(
            "NodeName={} {}CoresPerSocket={} ",
            c.name,
            x.arch
                .as_ref()
                .map(|a| format!("Arch={a} "))
                .unwrap_or_default(),
            c.cores_per_socket
        ),
        format!(
            "CPUAlloc={} CPUEfctv={} CPUTot={} CPULoad={}",
            node.alloc_cpus,
            c.cpus,
            c.cpus,
            x.cpu_load_centi.map_or_else(
                || "N/A".to_owned(),
                |l| format!("{}.{:02}", l / 100, l % 100)
            )
        ),
        format!("AvailableFeatures={}", features_or_null(&c.features)),
        format!("ActiveFeatures={}", features_or_null(&c.features)),
        format!("Gres={}", gres_or_null(&c.gres)),
        node_addr_line(node, env),
    ];
    if let Some(os) = &x.os {
        lines.push(format!("OS={os} "));
    }
    lines.extend(node_state_lines(node, partitions, env));
    let end = line_end(one_liner);
    let mut out = lines.join(end);
    if let Some(reason) = node.reason.as_deref().filter(|r| !r.is_empty()) {
        out.push_str(end);
        out.push_str(&reason_text(reason, x, env, end));
    }
    out.push_str(record_end(one_liner));
    out
}

fn node_addr_line(node: &NodeView, env: &FormatEnv) -> String {
    let name = &node.config.name;
    let x = env.node(name);
    let mut s = format!(
        "NodeAddr={} NodeHostName={} ",
        x.node_addr.as_deref().unwrap_or(name),
        x.hostname.as_deref().unwrap_or(name)
    );
    if let Some(v) = &x.version {
        s.push_str(&format!("Version={v}"));
    }
    s
}

fn node_state_lines(
    node: &NodeView,
    partitions: &[PartitionConfig],
    env: &FormatEnv,
) -> Vec<String> {
    let c = &node.config;
    let x = env.node(&c.name);
    let mut lines = vec![
        format!(
            "RealMemory={} AllocMem={} FreeMem={} Sockets={} Boards={}",
            c.real_memory_mb,
            node.alloc_mem_mb,
            x.free_mem_mb
                .map_or_else(|| "N/A".to_owned(), |m| m.to_string()),
            c.sockets,
            c.boards
        ),
        format!(
            "State={} ThreadsPerCore={} TmpDisk=0 Weight={} Owner=N/A MCS_label=N/A",
            node.state, c.threads_per_core, c.weight
        ),
    ];
    let member: Vec<&str> = partitions
        .iter()
        .filter(|p| p.nodes.contains(&c.name))
        .map(|p| p.name.as_str())
        .collect();
    if !member.is_empty() {
        lines.push(format!("Partitions={} ", member.join(",")));
    }
    let or_none = |t: Option<i64>| t.map_or_else(|| "None".to_owned(), |t| env.iso(t));
    lines.extend([
        format!(
            "BootTime={} SlurmdStartTime={}",
            or_none(x.boot_time),
            or_none(x.slurmd_start_time)
        ),
        format!("LastBusyTime={}", env.iso_or_unknown(x.last_busy)),
        format!("CfgTRES={}", node_cfg_tres(node)),
        format!("AllocTRES={}", node_alloc_tres(node)),
        "CapWatts=n/a".to_owned(),
        "CurrentWatts=0 AveWatts=0".to_owned(),
        "ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s".to_owned(),
    ]);
    lines
}

/// `Reason=text [user@time]`; further lines of a multi-line reason are indented.
fn reason_text(reason: &str, x: &super::NodeExtras, env: &FormatEnv, end: &str) -> String {
    let mut out = String::new();
    for (i, part) in reason.split('\n').filter(|p| !p.is_empty()).enumerate() {
        if i == 0 {
            out.push_str("Reason=");
        } else {
            out.push_str(end);
            out.push_str("       ");
        }
        out.push_str(part);
        if i == 0
            && let Some(t) = x.reason_time
        {
            let user = x.reason_user.as_deref().unwrap_or("root");
            out.push_str(&format!(" [{user}@{}]", env.iso(t)));
        }
    }
    out
}

fn features_or_null(features: &[String]) -> String {
    if features.is_empty() {
        "(null)".to_owned()
    } else {
        features.join(",")
    }
}

fn gres_or_null(gres: &[Gres]) -> String {
    if gres.is_empty() {
        "(null)".to_owned()
    } else {
        crate::parse::tres::format_gres_list(gres)
    }
}

/// `CfgTRES=cpu=64,mem=64G,billing=64[,gres/gpu=8]`.
fn node_cfg_tres(node: &NodeView) -> String {
    let c = &node.config;
    let cpus = u64::from(c.cpus);
    ji::tres_line(cpus, c.real_memory_mb, None, cpus, &c.gres)
}

/// `AllocTRES=cpu=6,mem=600M[,gres/gpu=2]`, empty when nothing is allocated.
fn node_alloc_tres(node: &NodeView) -> String {
    if node.alloc_cpus == 0 && node.alloc_mem_mb == 0 && node.alloc_gres.is_empty() {
        return String::new();
    }
    let mut parts = vec![format!("cpu={}", node.alloc_cpus)];
    if node.alloc_mem_mb > 0 {
        parts.push(format!("mem={}", mem_exact(node.alloc_mem_mb)));
    }
    parts.extend(
        ji::gres_totals(&node.alloc_gres)
            .into_iter()
            .map(|(n, c)| format!("gres/{n}={c}")),
    );
    parts.join(",")
}

/// `scontrol show partition` for one partition. `nodes` are the cluster's nodes (for the
/// totals); nodes of the partition that are missing from it count as empty.
pub fn show_partition(part: &PartitionConfig, nodes: &[NodeView]) -> String {
    show_partition_with(part, nodes, false)
}

/// `scontrol show partition` for several partitions, in the order given.
pub fn show_partitions<'a>(
    parts: impl IntoIterator<Item = &'a PartitionConfig>,
    nodes: &[NodeView],
) -> String {
    parts
        .into_iter()
        .map(|p| show_partition(p, nodes))
        .collect()
}

/// `scontrol [-o] show partition` for one partition.
pub fn show_partition_with(part: &PartitionConfig, nodes: &[NodeView], one_liner: bool) -> String {
    let members: Vec<&NodeView> = nodes
        .iter()
        .filter(|n| part.nodes.contains(&n.config.name))
        .collect();
    let total_cpus: u64 = members.iter().map(|n| u64::from(n.config.cpus)).sum();
    let lines = [
        format!("PartitionName={}", part.name),
        format!(
            "AllowGroups={} AllowAccounts={} AllowQos={}",
            part.allow_groups, part.allow_accounts, part.allow_qos
        ),
        format!(
            "AllocNodes=ALL Default={} QoS=N/A",
            if part.default { "YES" } else { "NO" }
        ),
        format!(
            "DefaultTime={} DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO",
            part.default_time
                .map_or_else(|| "NONE".to_owned(), timefmt::limit_hms)
        ),
        format!(
            "MaxNodes={} MaxTime={} MinNodes={} LLN=NO MaxCPUsPerNode=UNLIMITED",
            part.max_nodes
                .map_or_else(|| "UNLIMITED".to_owned(), |n| n.to_string()),
            timefmt::limit_hms(part.max_time),
            part.min_nodes
        ),
        format!("Nodes={}", nodes_or_null(&part.nodes)),
        format!(
            "PriorityJobFactor={} PriorityTier={} RootOnly=NO ReqResv=NO OverSubscribe={}",
            part.priority_job_factor,
            part.priority_tier,
            oversubscribe_text(part.oversubscribe)
        ),
        "OverTimeLimit=NONE PreemptMode=OFF".to_owned(),
        format!(
            "State={} TotalCPUs={total_cpus} TotalNodes={} SelectTypeParameters=NONE",
            part.state.as_str(),
            part.nodes.len()
        ),
        "JobDefaults=(null)".to_owned(),
        format!(
            "{} MaxMemPerNode=UNLIMITED",
            part.def_mem_per_cpu_mb.map_or_else(
                || "DefMemPerNode=UNLIMITED".to_owned(),
                |mb| format!("DefMemPerCPU={mb}")
            )
        ),
        format!("TRES={}", partition_tres(&members, part.nodes.len())),
    ];
    let mut out = lines.join(line_end(one_liner));
    out.push_str(record_end(one_liner));
    out
}

fn partition_tres(members: &[&NodeView], node_count: usize) -> String {
    let cpus: u64 = members.iter().map(|n| u64::from(n.config.cpus)).sum();
    let mem: u64 = members
        .iter()
        .map(|n| n.config.real_memory_mb)
        .fold(0, u64::saturating_add);
    let gres: Vec<Gres> = members.iter().flat_map(|n| n.config.gres.clone()).collect();
    let nodes = u64::try_from(node_count).unwrap_or(u64::MAX);
    ji::tres_line(cpus, mem, Some(nodes), cpus, &gres)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobSpec, NodeBaseState, NodeConfig, NodeState, PendingReason, TimeLimit};

    fn pending_job() -> Job {
        let spec = JobSpec {
            name: "x".into(),
            user: "bob".into(),
            uid: 1001,
            gid: 1001,
            work_dir: "/home/bob".into(),
            max_nodes: Some(4),
            min_nodes: 2,
            ..JobSpec::default()
        };
        Job {
            reason: PendingReason::Priority,
            priority: 3,
            partition: "p".into(),
            time_limit: TimeLimit::minutes(90),
            ..crate::format::testing::job(7, JobState::Pending, spec)
        }
    }

    #[test]
    fn pending_job_record_shape() {
        let env = FormatEnv::new(100, 0);
        let out = show_job(&pending_job(), &env);
        assert!(out.starts_with("JobId=7 JobName=x\n   UserId=bob(1001) GroupId=nobody(1001)"));
        assert!(out.contains("\n   NumNodes=2-4 NumCPUs=1 "));
        assert!(out.contains("RunTime=00:00:00 TimeLimit=01:30:00 TimeMin=N/A"));
        assert!(out.contains("StartTime=Unknown EndTime=Unknown Deadline=N/A"));
        assert!(
            out.contains("\n   NodeList=\n   NumNodes"),
            "no BatchHost while pending"
        );
        assert!(out.contains("StdOut=/home/bob/slurm-7.out"));
        assert!(out.ends_with("\n   Power=\n   \n\n"));
        let one = show_job_with(&pending_job(), &env, true);
        assert!(one.ends_with(" Power= \n"));
        assert_eq!(one.lines().count(), 1);
    }

    #[test]
    fn node_reason_line() {
        let mut state = NodeState::new(NodeBaseState::Idle);
        state.flags.drain = true;
        let view = NodeView {
            config: NodeConfig::simple("n1", 4, 1000),
            state,
            reason: Some("bad disk".into()),
            alloc_cpus: 0,
            alloc_mem_mb: 0,
            alloc_gres: vec![],
            jobs: vec![],
        };
        let mut env = FormatEnv::new(0, 0);
        let plain = show_node(&view, &[], &env);
        assert!(plain.contains("State=IDLE+DRAIN "));
        assert!(plain.contains("\n   AllocTRES=\n"));
        assert!(plain.ends_with("ExtSensorsTemp=n/s\n   Reason=bad disk\n\n"));
        env.nodes.insert(
            "n1".into(),
            crate::format::NodeExtras {
                reason_user: Some("admin".into()),
                reason_time: Some(60),
                ..Default::default()
            },
        );
        let stamped = show_node(&view, &[], &env);
        assert!(stamped.ends_with("Reason=bad disk [admin@1970-01-01T00:01:00]\n\n"));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            invalid_job_message(),
            "slurm_load_jobs error: Invalid job id specified"
        );
        assert_eq!(node_not_found("x"), "Node x not found");
        assert_eq!(partition_not_found("p"), "Partition p not found");
        assert_eq!(
            show_jobs([], &FormatEnv::default()),
            "No jobs in the system\n"
        );
    }
}
