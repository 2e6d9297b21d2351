//! `scontrol` without a controller: command words, update specifications, and what is
//! printed for the controller's answers.

mod common;

use common::{outcomes, r};
use slurm_core::commands::Output;
use slurm_core::commands::rpc::RpcError;
use slurm_core::commands::scontrol::{self, Command, ScontrolArgs};
use slurm_core::format::FormatEnv;
use slurm_core::model::{Job, JobSpec, JobState, NodeBaseState, PartitionConfig, TimeLimit};
use slurm_core::proto::{
    ClusterInfo, ConfigReply, JobAction, JobControlRequest, JobList, JobUpdate, NodeAction,
    NodeOutcome, NodeOutcomes, NodeUpdateRequest,
};

fn parse(argv: &[&str]) -> ScontrolArgs {
    common::accepted("scontrol", argv, scontrol::parse_args(&common::args(argv)))
}

fn command(argv: &[&str]) -> Command {
    parse(argv).command
}

fn refused(argv: &[&str]) -> Output {
    common::refused("scontrol", argv, scontrol::parse_args(&common::args(argv)))
}

#[test]
fn show_commands() {
    assert_eq!(command(&["show", "job"]), Command::ShowJob(None));
    assert_eq!(
        command(&["show", "jobs", "12"]),
        Command::ShowJob(Some("12".into()))
    );
    assert_eq!(
        command(&["SHOW", "j", "12_3"]),
        Command::ShowJob(Some("12_3".into()))
    );
    assert_eq!(command(&["sho", "node"]), Command::ShowNode(None));
    assert_eq!(
        command(&["show", "nodes", "n[1-2]"]),
        Command::ShowNode(Some("n[1-2]".into()))
    );
    assert_eq!(
        command(&["show", "partition", "debug"]),
        Command::ShowPartition(Some("debug".into()))
    );
    assert_eq!(command(&["show", "config"]), Command::ShowConfig);
    assert_eq!(
        command(&["show", "hostnames", "n[1-2]"]),
        Command::ShowHostnames("n[1-2]".into())
    );
    assert_eq!(
        command(&["show", "hostlist", "n1,n2"]),
        Command::ShowHostlist("n1,n2".into())
    );
    assert!(parse(&["-o", "show", "job"]).one_liner);
    assert!(parse(&["show", "job", "-Q"]).quiet);
    assert_eq!(command(&["version"]), Command::Version);
}

#[test]
fn command_errors() {
    assert_eq!(refused(&["bogus"]).stderr, "invalid keyword: bogus\n");
    assert_eq!(
        refused(&["show"]).stderr,
        "too few arguments for keyword:show\n"
    );
    assert_eq!(
        refused(&["show", "widgets"]).stderr,
        "invalid entity:widgets for keyword:show \n"
    );
    assert_eq!(
        refused(&["hold"]).stderr,
        "too few arguments for keyword:hold\n"
    );
    assert!(
        refused(&[])
            .stderr
            .starts_with("scontrol: error: no command given")
    );
    assert_eq!(
        refused(&["--bogus"]).stderr,
        "scontrol: unrecognized option '--bogus'\nTry \"scontrol --help\" for more information\n"
    );
    for argv in [&["bogus"][..], &["show"], &[]] {
        assert_eq!(refused(argv).code, 1, "{argv:?}");
    }
    let out = refused(&["-V"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "slurm 22.05.8\n"));
}

#[test]
fn hold_release_requeue() {
    assert_eq!(
        command(&["hold", "5,6", "7_2"]),
        Command::ControlJobs(JobControlRequest {
            targets: vec![r(5, None), r(6, None), r(7, Some(2))],
            action: JobAction::Hold,
        })
    );
    assert_eq!(
        command(&["release", "JobId=5"]),
        Command::ControlJobs(JobControlRequest {
            targets: vec![r(5, None)],
            action: JobAction::Release,
        })
    );
    assert_eq!(
        command(&["requeue", "job=9"]),
        Command::ControlJobs(JobControlRequest {
            targets: vec![r(9, None)],
            action: JobAction::Requeue,
        })
    );
    assert!(matches!(
        command(&["uhold", "5"]),
        Command::ControlJobs(JobControlRequest {
            action: JobAction::Hold,
            ..
        })
    ));
    assert_eq!(
        refused(&["hold", "abc"]).stderr,
        "Invalid job id specified for job abc\n"
    );
}

#[test]
fn node_updates() {
    assert_eq!(
        command(&[
            "update",
            "NodeName=n[1-2]",
            "State=DRAIN",
            "Reason=disk failing"
        ]),
        Command::UpdateNodes(NodeUpdateRequest {
            names: vec!["n1".into(), "n2".into()],
            action: NodeAction::Drain,
            reason: Some("disk failing".into()),
        })
    );
    assert_eq!(
        command(&["update", "nodename=n1", "state=resume"]),
        Command::UpdateNodes(NodeUpdateRequest {
            names: vec!["n1".into()],
            action: NodeAction::Resume,
            reason: None,
        })
    );
    let undrain = command(&["update", "NodeName=n1", "State=UNDRAIN"]);
    assert!(matches!(
        undrain,
        Command::UpdateNodes(NodeUpdateRequest {
            action: NodeAction::Undrain,
            ..
        })
    ));
    let down = command(&["update", "NodeName=n1", "State=DOWN", "Reason=\"gone\""]);
    assert!(
        matches!(down, Command::UpdateNodes(NodeUpdateRequest { action: NodeAction::Down, reason: Some(ref r), .. }) if r == "gone")
    );

    assert_eq!(
        refused(&["update", "NodeName=n1", "State=DRAIN"]).stderr,
        "You must specify a reason when DOWNING or DRAINING a node. Request denied\n"
    );
    assert_eq!(
        refused(&["update", "NodeName=n1", "State=IDLE"]).stderr,
        "Invalid input: State=IDLE\nRequest aborted\nValid states are: DRAIN DOWN RESUME UNDRAIN\n"
    );
    assert_eq!(
        refused(&["update", "NodeName=n1", "Weight=5"]).stderr,
        "Update of this parameter is not supported: Weight=5\nRequest aborted\n"
    );
    assert_eq!(
        refused(&["update", "NodeName=n1"]).stderr,
        "No changes specified\n"
    );
    assert_eq!(
        refused(&["update", "Foo=1"]).stderr,
        "No valid entity in update command\nInput line must include \"NodeName\" or \"JobId\"\n"
    );
    assert_eq!(
        refused(&["update", "NodeName"]).stderr,
        "scontrol: error: Invalid input: NodeName  Request aborted\n"
    );
}

#[test]
fn job_updates() {
    assert_eq!(
        command(&[
            "update",
            "JobId=12",
            "TimeLimit=1:00:00",
            "Partition=gpu",
            "Nice=10"
        ]),
        Command::ControlJobs(JobControlRequest {
            targets: vec![r(12, None)],
            action: JobAction::Update(JobUpdate {
                time_limit: Some(TimeLimit::minutes(60)),
                partition: Some("gpu".into()),
                nice: Some(10),
            }),
        })
    );
    assert_eq!(
        command(&["update", "jobid=12_3", "timelimit=UNLIMITED"]),
        Command::ControlJobs(JobControlRequest {
            targets: vec![r(12, Some(3))],
            action: JobAction::Update(JobUpdate {
                time_limit: Some(TimeLimit::Infinite),
                ..JobUpdate::default()
            }),
        })
    );
    assert_eq!(
        refused(&["update", "JobId=12", "TimeLimit=soon"]).stderr,
        "Invalid TimeLimit value: soon\n"
    );
    assert_eq!(
        refused(&["update", "JobId=12", "Nice=x"]).stderr,
        "Invalid nice value: x\n"
    );
    assert_eq!(
        refused(&["update", "JobId=12"]).stderr,
        "No changes specified\n"
    );
    assert_eq!(
        refused(&["update", "JobId=12", "Account=x"]).stderr,
        "Update of this parameter is not supported: Account=x\nRequest aborted\n"
    );
}

#[test]
fn job_reports() {
    let ok = outcomes(&[(r(5, None), None)]);
    assert_eq!(
        scontrol::report_jobs(&ok, &[r(5, None)], false),
        Output::default()
    );
    let failed = outcomes(&[
        (r(5, None), None),
        (r(6, Some(2)), Some("Job is no longer pending execution")),
    ]);
    let out = scontrol::report_jobs(&failed, &[r(5, None), r(6, Some(2))], false);
    assert_eq!(
        out.stderr,
        "Job is no longer pending execution for job 6_2\n"
    );
    assert_eq!(out.code, 1);
    let out = scontrol::report_jobs(&failed, &[], true);
    assert_eq!((out.stderr.as_str(), out.code), ("", 1));
    let out = scontrol::report_jobs(
        &Err(RpcError::Rejected("Access/permission denied".into())),
        &[r(7, None)],
        false,
    );
    assert_eq!(out.stderr, "Access/permission denied for job 7\n");
}

#[test]
fn node_reports() {
    let failed = Ok(NodeOutcomes {
        outcomes: vec![
            NodeOutcome {
                node: "n1".into(),
                error: Some("Invalid node name specified".into()),
            },
            NodeOutcome {
                node: "n2".into(),
                error: Some("Invalid node name specified".into()),
            },
            NodeOutcome {
                node: "n3".into(),
                error: None,
            },
        ],
    });
    let out = scontrol::report_nodes(&failed, false);
    assert_eq!(
        out.stderr,
        "slurm_update error: Invalid node name specified\n"
    );
    assert_eq!(out.code, 1);
    let ok = Ok(NodeOutcomes { outcomes: vec![] });
    assert_eq!(scontrol::report_nodes(&ok, false), Output::default());
}

fn job(id: u32) -> Job {
    let spec = JobSpec {
        name: format!("j{id}"),
        ..JobSpec::default()
    };
    common::job(id, JobState::Pending, spec)
}

fn first_lines(out: &Output) -> Vec<&str> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("JobId="))
        .collect()
}

#[test]
fn show_job_selection() {
    let record = common::array_record(job(20), &[2, 3]);
    let task = common::array_task(job(21), 20, 1);
    let list = JobList {
        now: 0,
        jobs: vec![job(5), task, record],
        allocations: vec![],
    };
    let env = FormatEnv::new(0, 0);
    let all = scontrol::show_jobs(&list, None, false, &env);
    assert_eq!(first_lines(&all).len(), 3);
    assert!(all.stdout.starts_with("JobId=5 "), "{}", all.stdout);
    let array = scontrol::show_jobs(&list, Some("20"), false, &env);
    assert_eq!(first_lines(&array).len(), 2);
    let one = scontrol::show_jobs(&list, Some("20_3"), true, &env);
    assert_eq!(one.stdout.lines().count(), 1, "one line with -o");
    assert!(one.stdout.contains("ArrayTaskId=3"), "{}", one.stdout);
    let none = scontrol::show_jobs(&list, Some("x"), false, &env);
    assert_eq!(
        (none.stderr.as_str(), none.code),
        ("slurm_load_jobs error: Invalid job id specified\n", 1)
    );
    let empty = scontrol::show_jobs(
        &JobList {
            now: 0,
            jobs: vec![],
            allocations: vec![],
        },
        None,
        false,
        &env,
    );
    assert_eq!(empty.stdout, "No jobs in the system\n");
}

fn cluster() -> ClusterInfo {
    let node = |name: &str| common::node(name, NodeBaseState::Idle);
    ClusterInfo {
        now: 0,
        cluster_name: "c".into(),
        nodes: vec![node("n1"), node("n2")],
        partitions: vec![PartitionConfig::new(
            "debug",
            vec!["n1".into(), "n2".into()],
        )],
        def_mem_per_cpu_mb: None,
    }
}

#[test]
fn show_nodes_and_partitions() {
    let env = FormatEnv::new(0, 0);
    let out = scontrol::show_nodes(&cluster(), Some("n[2-3]"), false, &env);
    assert!(out.stdout.starts_with("NodeName=n2 "), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("Node n3 not found\n"),
        "{}",
        out.stdout
    );
    assert_eq!(out.code, 1);
    let all = scontrol::show_nodes(&cluster(), None, true, &env);
    assert_eq!(all.stdout.lines().count(), 2);
    let part = scontrol::show_partitions(&cluster(), Some("debug"), false);
    assert!(part.stdout.starts_with("PartitionName=debug\n"));
    let missing = scontrol::show_partitions(&cluster(), Some("gpu"), false);
    assert_eq!(
        (missing.stdout.as_str(), missing.code),
        ("Partition gpu not found\n", 1)
    );
}

#[test]
fn show_config_layout() {
    let reply = ConfigReply {
        now: 1_795_610_668,
        entries: vec![
            ("ClusterName".into(), "test".into()),
            ("AccountingStorageBackupHost".into(), "(null)".into()),
        ],
    };
    let out = scontrol::show_config(&reply, "ctl", 0);
    assert_eq!(
        out.stdout,
        "Configuration data as of 2026-11-25T12:44:28\n\
         ClusterName             = test\n\
         AccountingStorageBackupHost = (null)\n\
         \n\
         Slurmctld(primary) at ctl is UP\n"
    );
}

#[test]
fn host_lists() {
    let out = scontrol::show_hosts(&Command::ShowHostnames("n[1-3]".into()));
    assert_eq!(out.stdout, "n1\nn2\nn3\n");
    let out = scontrol::show_hosts(&Command::ShowHostlist("n1,n2,n3,m".into()));
    // In the order given, as Slurm (`hostlistsorted` is a separate command there).
    assert_eq!(out.stdout, "n[1-3],m\n");
    let out = scontrol::show_hosts(&Command::ShowHostnames("n[1-".into()));
    assert_eq!(out.code, 1);
}
