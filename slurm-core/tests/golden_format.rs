//! Golden tests: the formatters must reproduce real Slurm 22.05 output byte for byte.
//!
//! The expected texts are copies of `/work/shared/golden/*.txt` (first line the command, second
//! its exit status, then the output), embedded so the tests run anywhere;
//! `embedded_copies_match_the_shared_goldens` checks the copies when the shared directory is
//! there. Each test builds the model objects of the captured scenario (one host `vm` with 64
//! CPUs, partitions `debug` (default) and `maint` (down), users root, alice and bob, jobs 1-18)
//! and renders them.
//!
//! The captures collapsed trailing blank lines: Slurm ends every `scontrol show` record with a
//! blank line, which the samples show once at most. `scontrol` comparisons therefore ignore
//! trailing newlines.
//!
//! Not reproduced: `squeue_partitionconfig.txt` (`18 PENDING PartitionConfig`): the model's
//! `PendingReason` has no `PartitionConfig` variant.

use slurm_core::engine::NodeView;
use slurm_core::format::{FormatEnv, JobExtras, NodeExtras, scontrol, sinfo, squeue};
use slurm_core::model::{
    ExitStatus, Job, JobSpec, JobState, MemRequest, NodeAllocation, NodeBaseState, NodeConfig,
    NodeState, PartitionConfig, PartitionState, PendingReason, TimeLimit, Timestamp,
};

/// 2026-11-25T00:00:00Z: the samples were taken that day, on a host running in UTC.
const DAY: Timestamp = 1_795_564_800;
const YEAR: i64 = 365 * 86_400;

/// A time of the capture day.
fn at(h: i64, m: i64, s: i64) -> Timestamp {
    DAY + h * 3600 + m * 60 + s
}

/// `squeue`, `sinfo` and `scontrol` ran at 12:44:28.
fn env() -> FormatEnv {
    let mut env = FormatEnv::new(at(12, 44, 28), 0);
    env.def_mem_per_cpu_mb = Some(100);
    env.jobs.insert(
        1,
        JobExtras {
            alloc_node: Some("localhost".into()),
            alloc_sid: 2523,
            ..JobExtras::default()
        },
    );
    env.jobs.insert(
        9,
        JobExtras {
            alloc_node: Some("localhost".into()),
            alloc_sid: 2523,
            last_sched_eval: Some(at(12, 44, 21)),
            ..JobExtras::default()
        },
    );
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

/// The node while jobs 1, 2, 3, 4 and 6 run on it (6 CPUs, 600 MiB).
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

fn spec(name: &str, user: &str) -> JobSpec {
    let uid = match user {
        "alice" => 1001,
        "bob" => 1002,
        _ => 0,
    };
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

/// Jobs 1-17 as they were at 12:44:28 (18 is not representable, see the module docs).
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
    held.hold = Some(slurm_core::model::Hold::User);
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
        running(job(1, "wrap", "root", Running, 10_507), started, 1, 100),
        running(job(2, "wrap", "root", Running, 10_507), started, 1, 100),
        running(myjob, started, 2, 200),
        running(alice, later, 1, 100),
        pending(job(5, "wrap", "alice", Pending, 507), R::AssocGrpCpuLimit),
        running(bob, later, 1, 100),
        pending(job(7, "wrap", "bob", Pending, 507), R::AssocMaxJobsLimit),
        bigjob,
        bigjob2,
        held,
        begin,
        pending(job(12, "dep", "root", Pending, 10_507), R::Dependency),
        downpart,
        ended(job(14, "ok", "root", Completed, 0), later, later, 0),
        ended(job(15, "fails", "root", Failed, 0), later, later, 3),
        cancelled,
        ended(job(17, "hostname", "root", Completed, 0), later, later, 0),
    ]
}

/// The jobs with these ids, in this order.
fn pick(jobs: &[Job], ids: &[u32]) -> Vec<Job> {
    ids.iter()
        .filter_map(|id| jobs.iter().find(|j| j.id == *id).cloned())
        .collect()
}

/// A golden's output (without its two `#` lines) and exit status.
fn golden(name: &str) -> (&'static str, i32) {
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
        .unwrap_or(-1);
    (lines.next().unwrap_or(""), exit)
}

fn squeue_run(jobs: &[Job], style: squeue::Style, no_header: bool) -> String {
    let options = squeue::Options { style, no_header };
    let out = squeue::squeue(jobs, &options, &env());
    assert!(out.stderr.is_empty(), "{:?}", out.stderr);
    out.stdout
}

/// The order squeue printed (`-S P,t,-p`; see the module docs of `squeue::sort_default`).
const DEFAULT_ORDER: [u32; 13] = [8, 9, 11, 12, 7, 5, 10, 3, 1, 2, 4, 6, 13];

#[test]
fn squeue_default() {
    let (expected, exit) = golden("squeue");
    assert_eq!(exit, 0);
    let shown = pick(&jobs(), &DEFAULT_ORDER);
    assert_eq!(squeue_run(&shown, squeue::Style::Default, false), expected);
}

#[test]
fn squeue_long() {
    let (expected, _) = golden("squeue_long");
    let shown = pick(&jobs(), &DEFAULT_ORDER);
    assert_eq!(squeue_run(&shown, squeue::Style::Long, false), expected);
}

#[test]
fn squeue_format() {
    let (expected, _) = golden("squeue_format");
    let shown = pick(&jobs(), &DEFAULT_ORDER);
    let style = squeue::Style::Format("%i %P %j %u %T %M %D %R".into());
    assert_eq!(squeue_run(&shown, style, false), expected);
}

#[test]
fn squeue_user_pending() {
    let (expected, _) = golden("squeue_user_pd");
    let all = pick(&jobs(), &DEFAULT_ORDER);
    let shown: Vec<Job> = all
        .into_iter()
        .filter(|j| j.spec.user == "root" && j.state == JobState::Pending)
        .collect();
    let style = squeue::Style::Format("%i %P %j %u %T %M %D %R".into());
    assert_eq!(squeue_run(&shown, style, false), expected);
}

#[test]
fn squeue_all_states() {
    let (expected, _) = golden("squeue_all_states");
    let order = [16, 14, 17, 15, 8, 9, 11, 12, 7, 5, 10, 3, 1, 2, 4, 6, 13];
    let shown = pick(&jobs(), &order);
    let style = squeue::Style::Format("%i %j %u %T %r %e".into());
    assert_eq!(squeue_run(&shown, style, false), expected);
}

#[test]
fn squeue_start_sorted_like_slurm() {
    let (expected, _) = golden("squeue_start");
    let all = jobs();
    let mut shown: Vec<&Job> = all
        .iter()
        .filter(|j| j.state == JobState::Pending)
        .collect();
    squeue::sort_start(&mut shown);
    let options = squeue::Options {
        style: squeue::Style::Start,
        no_header: false,
    };
    let out = squeue::squeue(shown, &options, &env());
    assert_eq!(out.stdout, expected);
}

#[test]
fn squeue_after_release() {
    // `scontrol release 10 && squeue -h -n held -o '%i %T %r'`
    let (expected, _) = golden("scontrol_hold_release");
    let mut held = pick(&jobs(), &[10]);
    held[0].reason = PendingReason::None;
    held[0].hold = None;
    let style = squeue::Style::Format("%i %T %r".into());
    assert_eq!(squeue_run(&held, style, true), expected);
}

#[test]
fn squeue_default_sort_matches_apart_from_equal_priority_ties() {
    // Slurm printed 7 (bob) before 5 (alice) although both had priority 507: ties keep the
    // controller's job-table order, which the model does not have. Everything else matches.
    let all = jobs();
    let mut shown: Vec<&Job> = all
        .iter()
        .filter(|j| matches!(j.state, JobState::Pending | JobState::Running))
        .collect();
    squeue::sort_default(&mut shown, at(12, 44, 28));
    let ids: Vec<u32> = shown.iter().map(|j| j.id).collect();
    assert_eq!(ids, [8, 9, 11, 12, 5, 7, 10, 3, 1, 2, 4, 6, 13]);
}

fn sinfo_run(options: sinfo::Options) -> String {
    let out = sinfo::sinfo(&partitions(), &nodes(), &options, &env());
    assert!(out.stderr.is_empty(), "{:?}", out.stderr);
    out.stdout
}

#[test]
fn sinfo_default() {
    let (expected, _) = golden("sinfo");
    assert_eq!(sinfo_run(sinfo::Options::default()), expected);
}

#[test]
fn sinfo_summarize() {
    let (expected, _) = golden("sinfo_summarize");
    let options = sinfo::Options {
        summarize: true,
        ..sinfo::Options::default()
    };
    assert_eq!(sinfo_run(options), expected);
}

#[test]
fn sinfo_node_long() {
    let (expected, _) = golden("sinfo_N_l");
    let options = sinfo::Options {
        node_oriented: true,
        long: true,
        ..sinfo::Options::default()
    };
    assert_eq!(sinfo_run(options), expected);
}

/// `scontrol show` comparisons ignore trailing newlines (see the module docs).
fn same_record(actual: &str, expected: &str) {
    assert_eq!(
        actual.trim_end_matches('\n'),
        expected.trim_end_matches('\n')
    );
    assert!(
        actual.ends_with("\n\n"),
        "Slurm ends records with a blank line"
    );
}

#[test]
fn scontrol_show_running_job() {
    let (expected, _) = golden("scontrol_show_job");
    let job = &pick(&jobs(), &[1])[0];
    same_record(&scontrol::show_job(job, &env()), expected);
}

#[test]
fn scontrol_show_pending_job() {
    let (expected, _) = golden("scontrol_show_job_pending");
    let job = &pick(&jobs(), &[9])[0];
    same_record(&scontrol::show_job(job, &env()), expected);
}

#[test]
fn scontrol_show_unknown_job() {
    let (expected, exit) = golden("scontrol_show_job_invalid");
    assert_eq!(exit, 1);
    assert_eq!(format!("{}\n", scontrol::invalid_job_message()), expected);
}

#[test]
fn scontrol_show_node() {
    let (expected, _) = golden("scontrol_show_node");
    let out = scontrol::show_nodes(&nodes(), &partitions(), &env());
    same_record(&out, expected);
}

#[test]
fn scontrol_show_partitions() {
    let (expected, _) = golden("scontrol_show_partition");
    let out = scontrol::show_partitions(&partitions(), &nodes());
    same_record(&out, expected);
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

/// Copies of the golden samples this file targets (name, full file contents).
const GOLDEN: &[(&str, &str)] = &[
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
        "squeue_partitionconfig",
        r#"# $ squeue -n toomany -o '%i %T %r'
# exit=0
JOBID STATE REASON
18 PENDING PartitionConfig
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
];
