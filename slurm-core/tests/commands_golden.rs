//! The commands' output for the captured Slurm 22.05 scenario, byte for byte against the real
//! samples in `/work/shared/golden/` (embedded below; `embedded_copies_match_the_shared_goldens`
//! checks the copies when the shared directory is there).
//!
//! Unlike `golden_format.rs`, which calls the formatters directly, these tests go through the
//! commands' own pieces: argv parsing, client-side filtering and sorting of the controller's
//! reply, and the error and exit-status conventions. The controller's reply is the captured
//! cluster: one host `vm` with 64 CPUs, partitions `debug` (default) and `maint` (down), users
//! root, alice and bob, jobs 1-17, listed in the controller's job-table order (which decides
//! squeue's order between jobs of equal priority, see `squeue::sort_default`).

use slurm_core::commands::lookup::{UserDb, format_env, numeric_id};
use slurm_core::commands::rpc::RpcError;
use slurm_core::commands::{Output, Step, sbatch, scancel, scontrol, sinfo, squeue};
use slurm_core::engine::NodeView;
use slurm_core::format::{FormatEnv, JobExtras, NodeExtras};
use slurm_core::model::{
    ExitStatus, Hold, Job, JobRef, JobSpec, JobState, MemRequest, NodeAllocation, NodeBaseState,
    NodeConfig, NodeState, PartitionConfig, PartitionState, PendingReason, TimeLimit, Timestamp,
};
use slurm_core::proto::{ClusterInfo, JobList, SubmitReply, TargetOutcome, TargetOutcomes};
use std::collections::BTreeMap;

/// 2026-11-25T00:00:00Z: the samples were taken that day, on a host running in UTC.
const DAY: Timestamp = 1_795_564_800;
const YEAR: i64 = 365 * 86_400;

fn at(h: i64, m: i64, s: i64) -> Timestamp {
    DAY + h * 3600 + m * 60 + s
}

/// The commands ran at 12:44:28.
fn now() -> Timestamp {
    at(12, 44, 28)
}

/// The test host's users: root, alice (1001), bob (1002); the caller is root.
struct Users;

impl UserDb for Users {
    fn uid_of(&self, name: &str) -> Option<u32> {
        numeric_id(name).or(match name {
            "root" => Some(0),
            "alice" => Some(1001),
            "bob" => Some(1002),
            _ => None,
        })
    }
    fn current_uid(&self) -> u32 {
        0
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        (gid == 0).then(|| "root".to_owned())
    }
}

fn env() -> FormatEnv {
    format_env(now(), 0, Some(100), [0, 1001, 1002], &Users)
}

/// [`env`] plus the facts `scontrol show` prints that the protocol does not carry.
fn scontrol_env() -> FormatEnv {
    let mut env = env();
    for (id, eval) in [(1, None), (9, Some(at(12, 44, 21)))] {
        env.jobs.insert(
            id,
            JobExtras {
                alloc_node: Some("localhost".into()),
                alloc_sid: 2523,
                last_sched_eval: eval,
                ..JobExtras::default()
            },
        );
    }
    env.nodes.insert(
        "vm".into(),
        NodeExtras {
            arch: Some("x86_64".into()),
            os: Some("Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0".into()),
            node_addr: Some("127.0.0.1".into()),
            hostname: Some("vm".into()),
            version: Some("22.05.8".into()),
            cpu_load_centi: Some(343),
            free_mem_mb: Some(15198),
            boot_time: Some(at(11, 46, 14)),
            slurmd_start_time: Some(at(12, 43, 51)),
            last_busy: Some(at(12, 43, 51)),
            ..NodeExtras::default()
        },
    );
    env
}

fn partitions() -> Vec<PartitionConfig> {
    let mut debug = PartitionConfig::new("debug", vec!["vm".into()]);
    debug.default = true;
    debug.min_nodes = 0;
    let mut maint = PartitionConfig::new("maint", vec!["vm".into()]);
    maint.state = PartitionState::Down;
    maint.max_time = TimeLimit::minutes(60);
    maint.min_nodes = 0;
    vec![debug, maint]
}

fn nodes() -> Vec<NodeView> {
    let mut config = NodeConfig::simple("vm", 64, 65536);
    config.sockets = 64;
    config.cores_per_socket = 1;
    vec![NodeView {
        config,
        state: NodeState::new(NodeBaseState::Mixed),
        reason: None,
        alloc_cpus: 6,
        alloc_mem_mb: 600,
        alloc_gres: Vec::new(),
        jobs: vec![1, 2, 3, 4, 6],
    }]
}

fn cluster() -> ClusterInfo {
    ClusterInfo {
        now: now(),
        cluster_name: "test".into(),
        nodes: nodes(),
        partitions: partitions(),
        def_mem_per_cpu_mb: Some(100),
    }
}

fn spec(name: &str, user: &str) -> JobSpec {
    let uid = Users.uid_of(user).unwrap_or(0);
    JobSpec {
        name: name.into(),
        user: user.into(),
        uid,
        gid: uid,
        account: if uid == 0 { "root" } else { "physics" }.into(),
        qos: "normal".into(),
        work_dir: "/tmp".into(),
        stdout: Some("/dev/null".into()),
        ..JobSpec::default()
    }
}

fn job(id: u32, name: &str, user: &str, state: JobState, priority: u32) -> Job {
    Job {
        id,
        array_job_id: None,
        array_task_id: None,
        spec: spec(name, user),
        state,
        reason: PendingReason::None,
        priority,
        partition: "debug".into(),
        time_limit: TimeLimit::Infinite,
        submit_time: at(12, 43, 53),
        eligible_time: Some(at(12, 43, 53)),
        start_time: None,
        end_time: None,
        planned_start: None,
        allocation: Vec::new(),
        exit: None,
        restarts: 0,
        cancelled_by: None,
        hold: None,
        array_pending: None,
    }
}

fn running(mut j: Job, start: Timestamp, cpus: u32, mem_mb: u64) -> Job {
    j.start_time = Some(start);
    j.allocation = vec![NodeAllocation {
        node: "vm".into(),
        cpus,
        mem_mb,
        gres: Vec::new(),
    }];
    j
}

fn pending(mut j: Job, reason: PendingReason) -> Job {
    j.reason = reason;
    j
}

fn ended(mut j: Job, start: Timestamp, end: Timestamp, code: i32) -> Job {
    j = running(j, start, 1, 100);
    j.end_time = Some(end);
    j.exit = Some(ExitStatus { code, signal: 0 });
    j
}

/// Jobs 1-17 as they were at 12:44:28, in the controller's table order.
fn jobs() -> Vec<Job> {
    use JobState::{Cancelled, Completed, Failed, Pending, Running};
    use PendingReason as R;
    let started = at(12, 43, 54);
    let later = at(12, 44, 20);
    let next_year = started + YEAR;

    let mut myjob = job(3, "myjob", "root", Running, 10_508);
    myjob.spec.ntasks = 2;
    myjob.spec.mem = MemRequest::PerNode(200);
    myjob.time_limit = TimeLimit::minutes(30);
    let mut alice = job(4, "wrap", "alice", Running, 507);
    alice.time_limit = TimeLimit::Seconds(YEAR as u64);
    let mut bob = job(6, "wrap", "bob", Running, 507);
    bob.time_limit = TimeLimit::Seconds(YEAR as u64);
    let mut bigjob = pending(job(8, "bigjob", "root", Pending, 11_000), R::Resources);
    bigjob.spec.ntasks = 64;
    bigjob.planned_start = Some(next_year);
    let mut bigjob2 = pending(job(9, "bigjob2", "root", Pending, 11_000), R::Priority);
    bigjob2.spec.ntasks = 64;
    bigjob2.submit_time = at(12, 43, 58);
    bigjob2.eligible_time = Some(at(12, 43, 58));
    bigjob2.planned_start = Some(next_year);
    let mut held = pending(job(10, "held", "root", Pending, 0), R::JobHeldUser);
    held.hold = Some(Hold::User);
    let mut begin = pending(job(11, "later", "root", Pending, 10_507), R::BeginTime);
    begin.planned_start = Some(at(13, 43, 58));
    let mut downpart = pending(
        job(13, "downpart", "root", Pending, 10_507),
        R::PartitionDown,
    );
    downpart.partition = "maint".into();
    downpart.time_limit = TimeLimit::minutes(60);
    let mut cancelled = pending(job(16, "tocancel", "root", Cancelled, 0), R::BeginTime);
    cancelled.end_time = Some(at(12, 43, 58));

    vec![
        bigjob,
        bigjob2,
        begin,
        pending(job(12, "dep", "root", Pending, 10_507), R::Dependency),
        pending(job(7, "wrap", "bob", Pending, 507), R::AssocMaxJobsLimit),
        pending(job(5, "wrap", "alice", Pending, 507), R::AssocGrpCpuLimit),
        held,
        running(myjob, started, 2, 200),
        running(job(1, "wrap", "root", Running, 10_507), started, 1, 100),
        running(job(2, "wrap", "root", Running, 10_507), started, 1, 100),
        running(alice, later, 1, 100),
        running(bob, later, 1, 100),
        downpart,
        ended(job(14, "ok", "root", Completed, 0), later, later, 0),
        ended(job(15, "fails", "root", Failed, 0), later, later, 3),
        cancelled,
        ended(job(17, "hostname", "root", Completed, 0), later, later, 0),
    ]
}

fn job_list() -> JobList {
    JobList {
        now: now(),
        jobs: jobs(),
    }
}

/// A golden's output (without its two `#` lines) and exit status.
fn golden(name: &str) -> (&'static str, u8) {
    let text = GOLDEN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("no golden {name}"));
    let mut lines = text.splitn(3, '\n');
    let _command = lines.next();
    let exit = lines
        .next()
        .and_then(|l| l.strip_prefix("# exit="))
        .and_then(|c| c.parse().ok())
        .unwrap_or(255);
    (lines.next().unwrap_or(""), exit)
}

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

fn squeue_out(argv: &[&str], list: &JobList) -> Output {
    let parsed = match squeue::parse_args(&args(argv), &BTreeMap::new(), &Users) {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("squeue {argv:?} refused: {out:?}"),
    };
    squeue::render(list, &parsed, &env())
}

/// Compares stdout + stderr (the samples hold both) and the exit status.
fn check(out: &Output, name: &str) {
    let (expected, exit) = golden(name);
    assert_eq!(format!("{}{}", out.stdout, out.stderr), expected, "{name}");
    assert_eq!(out.code, exit, "{name}: exit status");
}

#[test]
fn squeue_default() {
    check(&squeue_out(&[], &job_list()), "squeue");
}

#[test]
fn squeue_long() {
    check(&squeue_out(&["-l"], &job_list()), "squeue_long");
}

#[test]
fn squeue_format() {
    let out = squeue_out(&["-o", "%i %P %j %u %T %M %D %R"], &job_list());
    check(&out, "squeue_format");
}

#[test]
fn squeue_user_and_state_filters() {
    let argv = ["-u", "root", "-t", "PD", "-o", "%i %P %j %u %T %M %D %R"];
    check(&squeue_out(&argv, &job_list()), "squeue_user_pd");
}

#[test]
fn squeue_all_states() {
    let out = squeue_out(&["-t", "all", "-o", "%i %j %u %T %r %e"], &job_list());
    check(&out, "squeue_all_states");
}

#[test]
fn squeue_start() {
    check(&squeue_out(&["--start"], &job_list()), "squeue_start");
}

#[test]
fn squeue_after_release() {
    // `scontrol release 10 && squeue -h -n held -o '%i %T %r'`: the release prints nothing.
    let released = scontrol::report_jobs(
        &Ok(TargetOutcomes {
            outcomes: vec![TargetOutcome {
                target: JobRef {
                    job_id: 10,
                    array_task: None,
                },
                error: None,
            }],
        }),
        &[],
        false,
    );
    assert_eq!(released, Output::default());
    let mut list = job_list();
    for j in &mut list.jobs {
        if j.id == 10 {
            j.reason = PendingReason::None;
            j.hold = None;
        }
    }
    check(
        &squeue_out(&["-h", "-n", "held", "-o", "%i %T %r"], &list),
        "scontrol_hold_release",
    );
}

fn sinfo_out(argv: &[&str]) -> Output {
    let parsed = match sinfo::parse_args(&args(argv), &BTreeMap::new()) {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("sinfo {argv:?} refused: {out:?}"),
    };
    sinfo::render(&cluster(), &parsed, &env())
}

#[test]
fn sinfo_default() {
    check(&sinfo_out(&[]), "sinfo");
}

#[test]
fn sinfo_summarize() {
    check(&sinfo_out(&["-s"]), "sinfo_summarize");
}

#[test]
fn sinfo_node_long() {
    check(&sinfo_out(&["-N", "-l"]), "sinfo_N_l");
}

#[test]
fn sinfo_version() {
    match sinfo::parse_args(&args(&["-V"]), &BTreeMap::new()) {
        Step::Exit(out) => {
            assert_eq!(out.code, 0);
            assert!(out.stdout.starts_with("slurm "), "{out:?}");
            assert!(golden("version").0.contains("22.05.8"));
            assert!(out.stdout.contains("22.05.8"));
        }
        Step::Run(_) => panic!("-V must print the version"),
    }
}

/// `scontrol show` records: Slurm ends each with a blank line, which the captures collapsed.
fn check_records(out: &Output, name: &str) {
    let (expected, exit) = golden(name);
    assert_eq!(
        out.stdout.trim_end_matches('\n'),
        expected.trim_end_matches('\n'),
        "{name}"
    );
    assert_eq!(out.code, exit);
}

fn scontrol_show(argv: &[&str]) -> Output {
    let parsed = match scontrol::parse_args(&args(argv)) {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("scontrol {argv:?} refused: {out:?}"),
    };
    let env = scontrol_env();
    match parsed.command {
        scontrol::Command::ShowJob(id) => {
            scontrol::show_jobs(&job_list(), id.as_deref(), parsed.one_liner, &env)
        }
        scontrol::Command::ShowNode(n) => {
            scontrol::show_nodes(&cluster(), n.as_deref(), parsed.one_liner, &env)
        }
        scontrol::Command::ShowPartition(p) => {
            scontrol::show_partitions(&cluster(), p.as_deref(), parsed.one_liner)
        }
        other => panic!("not a show command: {other:?}"),
    }
}

#[test]
fn scontrol_show_job() {
    check_records(&scontrol_show(&["show", "job", "1"]), "scontrol_show_job");
    check_records(
        &scontrol_show(&["show", "job", "9"]),
        "scontrol_show_job_pending",
    );
}

#[test]
fn scontrol_show_unknown_job() {
    let out = scontrol_show(&["show", "job", "999999"]);
    check(&out, "scontrol_show_job_invalid");
}

#[test]
fn scontrol_show_node_and_partitions() {
    check_records(&scontrol_show(&["show", "node"]), "scontrol_show_node");
    check_records(
        &scontrol_show(&["show", "node", "vm"]),
        "scontrol_show_node",
    );
    check_records(
        &scontrol_show(&["show", "partition"]),
        "scontrol_show_partition",
    );
}

#[test]
fn sbatch_submitted() {
    let reply = |job_id| SubmitReply {
        job_id,
        cluster: "test".into(),
    };
    let (expected, exit) = golden("sbatch");
    assert_eq!(sbatch::submitted_text(&reply(1), false, "test"), expected);
    assert_eq!(exit, 0);
    let (expected, _) = golden("sbatch_parsable");
    assert_eq!(sbatch::submitted_text(&reply(2), true, "test"), expected);
}

#[test]
fn sbatch_refusals() {
    let spec = JobSpec {
        partitions: vec!["nosuch".into()],
        ..JobSpec::default()
    };
    let refused = RpcError::Rejected("Invalid partition name specified".into());
    check(
        &sbatch::submit_failure(&refused, &spec),
        "sbatch_invalid_partition",
    );
    let refused =
        RpcError::Rejected("Invalid account or account/partition combination specified".into());
    check(
        &sbatch::submit_failure(&refused, &JobSpec::default()),
        "sbatch_invalid_account",
    );
}

#[test]
fn sbatch_empty_script() {
    // `sbatch < /dev/null`
    let inv = sbatch::Invocation::default();
    let ctx = slurm_core::parse::sbatch::SubmitContext::at(now());
    let out = match sbatch::plan(&[], &ctx, &inv, |path| {
        assert_eq!(path, None, "the script comes from stdin");
        Ok(String::new())
    }) {
        Err(out) => out,
        Ok(plan) => panic!("an empty script must be refused: {plan:?}"),
    };
    check(&out, "sbatch_no_script");
}

fn scancel_report(argv: &[&str], error: Option<&str>) -> Output {
    let parsed = match scancel::parse_args(&args(argv), &BTreeMap::new(), &Users) {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("scancel {argv:?} refused: {out:?}"),
    };
    let outcomes = TargetOutcomes {
        outcomes: parsed
            .targets
            .iter()
            .map(|t| TargetOutcome {
                target: *t,
                error: error.map(str::to_owned),
            })
            .collect(),
    };
    scancel::report(&parsed, &parsed.targets, &Ok(outcomes))
}

#[test]
fn scancel_unknown_job() {
    let out = scancel_report(&["999999"], Some("Invalid job id specified"));
    // The capture shows an empty line for an empty output.
    assert_eq!(golden("scancel_invalid").0.trim(), "");
    assert_eq!(out, Output::default());
    let out = scancel_report(&["-v", "999999"], Some("Invalid job id specified"));
    check(&out, "scancel_invalid_verbose");
}

#[test]
fn scancel_permission_denied() {
    let out = scancel_report(&["1"], Some("Access/permission denied"));
    check(&out, "scancel_other_user");
}

#[test]
fn embedded_copies_match_the_shared_goldens() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden");
    if !dir.is_dir() {
        return;
    }
    for (name, text) in GOLDEN {
        let path = dir.join(format!("{name}.txt"));
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            &on_disk,
            text,
            "{} differs from the embedded copy",
            path.display()
        );
    }
}

/// Copies of the golden samples (name, full file contents).
const GOLDEN: &[(&str, &str)] = &[
    (
        "sbatch",
        r#"# $ sbatch --wrap='sleep 600' -o /dev/null
# exit=0
Submitted batch job 1
"#,
    ),
    (
        "sbatch_parsable",
        r#"# $ sbatch --parsable --wrap='sleep 600' -o /dev/null
# exit=0
2
"#,
    ),
    (
        "sbatch_invalid_partition",
        r#"# $ sbatch -p nosuch --wrap=true -o /dev/null
# exit=1
sbatch: error: invalid partition specified: nosuch
sbatch: error: Batch job submission failed: Invalid partition name specified
"#,
    ),
    (
        "sbatch_invalid_account",
        r#"# $ sbatch -A nosuch --wrap=true -o /dev/null
# exit=1
sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified
"#,
    ),
    (
        "sbatch_no_script",
        r#"# $ sbatch < /dev/null
# exit=1
sbatch: error: Batch script is empty!
"#,
    ),
    (
        "scancel_invalid",
        r#"# $ scancel 999999
# exit=0

"#,
    ),
    (
        "scancel_invalid_verbose",
        r#"# $ scancel -v 999999
# exit=0
scancel: Terminating job 999999
scancel: error: Kill job error on job id 999999: Invalid job id specified
"#,
    ),
    (
        "scancel_other_user",
        r#"# $ runuser -u alice -- scancel 1
# exit=210
scancel: error: Kill job error on job id 1: Access/permission denied
"#,
    ),
    (
        "scontrol_hold_release",
        r#"# $ scontrol release $(squeue -h -n held -o %i) && squeue -h -n held -o '%i %T %r'
# exit=0
10 PENDING None
"#,
    ),
    (
        "scontrol_show_job",
        r#"# $ scontrol show job 1
# exit=0
JobId=1 JobName=wrap
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   Priority=10507 Nice=0 Account=root QOS=normal
   JobState=RUNNING Reason=None Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0
   RunTime=00:00:34 TimeLimit=UNLIMITED TimeMin=N/A
   SubmitTime=2026-11-25T12:43:53 EligibleTime=2026-11-25T12:43:53
   AccrueTime=2026-11-25T12:43:53
   StartTime=2026-11-25T12:43:54 EndTime=Unknown Deadline=N/A
   SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T12:43:54 Scheduler=Main
   Partition=debug AllocNode:Sid=localhost:2523
   ReqNodeList=(null) ExcNodeList=(null)
   NodeList=vm
   BatchHost=vm
   NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   TRES=cpu=1,mem=100M,node=1,billing=1
   Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*
   MinCPUsNode=1 MinMemoryCPU=100M MinTmpDiskNode=0
   Features=(null) DelayBoot=00:00:00
   OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)
   Command=(null)
   WorkDir=/tmp
   StdErr=/dev/null
   StdIn=/dev/null
   StdOut=/dev/null
   Power=
   
"#,
    ),
    (
        "scontrol_show_job_pending",
        r#"# $ scontrol show job $(squeue -h -t PD -n bigjob2 -o %i)
# exit=0
JobId=9 JobName=bigjob2
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   Priority=11000 Nice=0 Account=root QOS=normal
   JobState=PENDING Reason=Priority Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0
   RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A
   SubmitTime=2026-11-25T12:43:58 EligibleTime=2026-11-25T12:43:58
   AccrueTime=2026-11-25T12:43:58
   StartTime=2027-11-25T12:43:54 EndTime=Unknown Deadline=N/A
   SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T12:44:21 Scheduler=Main
   Partition=debug AllocNode:Sid=localhost:2523
   ReqNodeList=(null) ExcNodeList=(null)
   NodeList=
   NumNodes=1 NumCPUs=64 NumTasks=64 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   TRES=cpu=64,mem=6400M,node=1,billing=64
   Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*
   MinCPUsNode=1 MinMemoryCPU=100M MinTmpDiskNode=0
   Features=(null) DelayBoot=00:00:00
   OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)
   Command=(null)
   WorkDir=/tmp
   StdErr=/dev/null
   StdIn=/dev/null
   StdOut=/dev/null
   Power=
   
"#,
    ),
    (
        "scontrol_show_job_invalid",
        r#"# $ scontrol show job 999999
# exit=1
slurm_load_jobs error: Invalid job id specified
"#,
    ),
    (
        "scontrol_show_node",
        r#"# $ scontrol show node
# exit=0
NodeName=vm Arch=x86_64 CoresPerSocket=1 
   CPUAlloc=6 CPUEfctv=64 CPUTot=64 CPULoad=3.43
   AvailableFeatures=(null)
   ActiveFeatures=(null)
   Gres=(null)
   NodeAddr=127.0.0.1 NodeHostName=vm Version=22.05.8
   OS=Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 
   RealMemory=65536 AllocMem=600 FreeMem=15198 Sockets=64 Boards=1
   State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A
   Partitions=debug,maint 
   BootTime=2026-11-25T11:46:14 SlurmdStartTime=2026-11-25T12:43:51
   LastBusyTime=2026-11-25T12:43:51
   CfgTRES=cpu=64,mem=64G,billing=64
   AllocTRES=cpu=6,mem=600M
   CapWatts=n/a
   CurrentWatts=0 AveWatts=0
   ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s
"#,
    ),
    (
        "scontrol_show_partition",
        r#"# $ scontrol show partition
# exit=0
PartitionName=debug
   AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL
   AllocNodes=ALL Default=YES QoS=N/A
   DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO
   MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED
   Nodes=vm
   PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO
   OverTimeLimit=NONE PreemptMode=OFF
   State=UP TotalCPUs=64 TotalNodes=1 SelectTypeParameters=NONE
   JobDefaults=(null)
   DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED
   TRES=cpu=64,mem=64G,node=1,billing=64

PartitionName=maint
   AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL
   AllocNodes=ALL Default=NO QoS=N/A
   DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO
   MaxNodes=UNLIMITED MaxTime=01:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED
   Nodes=vm
   PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO
   OverTimeLimit=NONE PreemptMode=OFF
   State=DOWN TotalCPUs=64 TotalNodes=1 SelectTypeParameters=NONE
   JobDefaults=(null)
   DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED
   TRES=cpu=64,mem=64G,node=1,billing=64
"#,
    ),
    (
        "squeue",
        r#"# $ squeue
# exit=0
             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)
                 8     debug   bigjob     root PD       0:00      1 (Resources)
                 9     debug  bigjob2     root PD       0:00      1 (Priority)
                11     debug    later     root PD       0:00      1 (BeginTime)
                12     debug      dep     root PD       0:00      1 (Dependency)
                 7     debug     wrap      bob PD       0:00      1 (AssocMaxJobsLimit)
                 5     debug     wrap    alice PD       0:00      1 (AssocGrpCpuLimit)
                10     debug     held     root PD       0:00      1 (JobHeldUser)
                 3     debug    myjob     root  R       0:34      1 vm
                 1     debug     wrap     root  R       0:34      1 vm
                 2     debug     wrap     root  R       0:34      1 vm
                 4     debug     wrap    alice  R       0:08      1 vm
                 6     debug     wrap      bob  R       0:08      1 vm
                13     maint downpart     root PD       0:00      1 (PartitionDown)
"#,
    ),
    (
        "squeue_long",
        r#"# $ squeue -l
# exit=0
Wed Nov 25 12:44:28 2026
             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)
                 8     debug   bigjob     root  PENDING       0:00 UNLIMITED      1 (Resources)
                 9     debug  bigjob2     root  PENDING       0:00 UNLIMITED      1 (Priority)
                11     debug    later     root  PENDING       0:00 UNLIMITED      1 (BeginTime)
                12     debug      dep     root  PENDING       0:00 UNLIMITED      1 (Dependency)
                 7     debug     wrap      bob  PENDING       0:00 UNLIMITED      1 (AssocMaxJobsLimit)
                 5     debug     wrap    alice  PENDING       0:00 UNLIMITED      1 (AssocGrpCpuLimit)
                10     debug     held     root  PENDING       0:00 UNLIMITED      1 (JobHeldUser)
                 3     debug    myjob     root  RUNNING       0:34     30:00      1 vm
                 1     debug     wrap     root  RUNNING       0:34 UNLIMITED      1 vm
                 2     debug     wrap     root  RUNNING       0:34 UNLIMITED      1 vm
                 4     debug     wrap    alice  RUNNING       0:08 365-00:00:00      1 vm
                 6     debug     wrap      bob  RUNNING       0:08 365-00:00:00      1 vm
                13     maint downpart     root  PENDING       0:00   1:00:00      1 (PartitionDown)
"#,
    ),
    (
        "squeue_format",
        r#"# $ squeue -o '%i %P %j %u %T %M %D %R'
# exit=0
JOBID PARTITION NAME USER STATE TIME NODES NODELIST(REASON)
8 debug bigjob root PENDING 0:00 1 (Resources)
9 debug bigjob2 root PENDING 0:00 1 (Priority)
11 debug later root PENDING 0:00 1 (BeginTime)
12 debug dep root PENDING 0:00 1 (Dependency)
7 debug wrap bob PENDING 0:00 1 (AssocMaxJobsLimit)
5 debug wrap alice PENDING 0:00 1 (AssocGrpCpuLimit)
10 debug held root PENDING 0:00 1 (JobHeldUser)
3 debug myjob root RUNNING 0:34 1 vm
1 debug wrap root RUNNING 0:34 1 vm
2 debug wrap root RUNNING 0:34 1 vm
4 debug wrap alice RUNNING 0:08 1 vm
6 debug wrap bob RUNNING 0:08 1 vm
13 maint downpart root PENDING 0:00 1 (PartitionDown)
"#,
    ),
    (
        "squeue_user_pd",
        r#"# $ squeue -u root -t PD -o '%i %P %j %u %T %M %D %R'
# exit=0
JOBID PARTITION NAME USER STATE TIME NODES NODELIST(REASON)
8 debug bigjob root PENDING 0:00 1 (Resources)
9 debug bigjob2 root PENDING 0:00 1 (Priority)
11 debug later root PENDING 0:00 1 (BeginTime)
12 debug dep root PENDING 0:00 1 (Dependency)
10 debug held root PENDING 0:00 1 (JobHeldUser)
13 maint downpart root PENDING 0:00 1 (PartitionDown)
"#,
    ),
    (
        "squeue_all_states",
        r#"# $ squeue -t all -o '%i %j %u %T %r %e'
# exit=0
JOBID NAME USER STATE REASON END_TIME
16 tocancel root CANCELLED BeginTime 2026-11-25T12:43:58
14 ok root COMPLETED None 2026-11-25T12:44:20
17 hostname root COMPLETED None 2026-11-25T12:44:20
15 fails root FAILED NonZeroExitCode 2026-11-25T12:44:20
8 bigjob root PENDING Resources NONE
9 bigjob2 root PENDING Priority NONE
11 later root PENDING BeginTime NONE
12 dep root PENDING Dependency N/A
7 wrap bob PENDING AssocMaxJobsLimit N/A
5 wrap alice PENDING AssocGrpCpuLimit N/A
10 held root PENDING JobHeldUser N/A
3 myjob root RUNNING None 2026-11-25T13:13:54
1 wrap root RUNNING None NONE
2 wrap root RUNNING None NONE
4 wrap alice RUNNING None 2027-11-25T12:44:20
6 wrap bob RUNNING None 2027-11-25T12:44:20
13 downpart root PENDING PartitionDown N/A
"#,
    ),
    (
        "squeue_start",
        r#"# $ squeue --start
# exit=0
             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES           NODELIST(REASON)
                11     debug    later     root PD 2026-11-25T13:43:58      1 (null)               (BeginTime)
                 8     debug   bigjob     root PD 2027-11-25T12:43:54      1 (null)               (Resources)
                 9     debug  bigjob2     root PD 2027-11-25T12:43:54      1 (null)               (Priority)
                 5     debug     wrap    alice PD                 N/A      1 (null)               (AssocGrpCpuLimit)
                 7     debug     wrap      bob PD                 N/A      1 (null)               (AssocMaxJobsLimit)
                10     debug     held     root PD                 N/A      1 (null)               (JobHeldUser)
                12     debug      dep     root PD                 N/A      1 (null)               (Dependency)
                13     maint downpart     root PD                 N/A      1 (null)               (PartitionDown)
"#,
    ),
    (
        "sinfo",
        r#"# $ sinfo
# exit=0
PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST
debug*       up   infinite      1    mix vm
maint      down    1:00:00      1    mix vm
"#,
    ),
    (
        "sinfo_summarize",
        r#"# $ sinfo -s
# exit=0
PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST
debug*       up   infinite          1/0/0/1 vm
maint      down    1:00:00          1/0/0/1 vm
"#,
    ),
    (
        "sinfo_N_l",
        r#"# $ sinfo -N -l
# exit=0
Wed Nov 25 12:44:28 2026
NODELIST   NODES PARTITION       STATE CPUS    S:C:T MEMORY TMP_DISK WEIGHT AVAIL_FE REASON              
vm             1    debug*       mixed 64     64:1:1  65536        0      1   (null) none                
vm             1     maint       mixed 64     64:1:1  65536        0      1   (null) none                
"#,
    ),
    (
        "version",
        r#"# $ sinfo -V
# exit=0
slurm-wlm 22.05.8
"#,
    ),
];
