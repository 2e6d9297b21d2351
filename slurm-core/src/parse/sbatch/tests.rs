//! [`parse_sbatch`] end to end: layers, defaults, switches and error reporting.

use super::*;
use crate::model::{
    ArraySpec, Dependency, DependencySpec, GpuRequest, Gres, JobSpec, MemRequest, OpenMode,
    TimeLimit, Timestamp,
};
use crate::parse::ParseError;

/// 2026-03-14 09:26:53 UTC.
const NOW: Timestamp = 1_773_480_413;

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn ctx() -> SubmitContext {
    SubmitContext::at(NOW)
}

fn ctx_env(vars: &[(&str, &str)]) -> SubmitContext {
    SubmitContext {
        env: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..ctx()
    }
}

fn parse(args: &[&str], script: Option<&str>) -> SbatchRequest {
    parse_sbatch(&argv(args), script, &ctx()).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn parse_err(args: &[&str], script: Option<&str>) -> ParseError {
    parse_sbatch(&argv(args), script, &ctx()).expect_err(&format!("{args:?} should fail"))
}

/// A script with the given directive lines after the `#!` line, then a command.
fn script(directives: &[&str]) -> String {
    let mut s = "#!/bin/bash\n".to_owned();
    for d in directives {
        s.push_str(d);
        s.push('\n');
    }
    s.push_str("srun hostname\n");
    s
}

/// The job script from the client's Slurm guide (seeds/003).
const GUIDE_SCRIPT: &str = "#!/bin/bash
#SBATCH --job-name=hello_world      # 작업 이름
#SBATCH --output=hello_world.out    # 표준 출력 파일 이름
#SBATCH --error=hello_world.err     # 표준 에러 파일 이름
#SBATCH --time=00:05:00             # 작업 시간 제한 (HH:MM:SS)
#SBATCH --partition=cpu             # 파티션 이름
#SBATCH --ntasks=1                  # 총 실행할 작업 수
#SBATCH --cpus-per-task=1           # 작업당 CPU 코어 수
#SBATCH --mem=1G                    # 작업당 메모리 요구량

# 실행할 명령어
echo \"Running in cpu partition\"
";

#[test]
fn guide_script_from_the_seeds() {
    let req = parse(&["job_script.sh"], Some(GUIDE_SCRIPT));
    let want = JobSpec {
        name: "hello_world".to_owned(),
        stdout: Some("hello_world.out".to_owned()),
        stderr: Some("hello_world.err".to_owned()),
        time_limit: Some(TimeLimit::minutes(5)),
        partitions: vec!["cpu".to_owned()],
        ntasks: 1,
        cpus_per_task: 1,
        mem: MemRequest::PerNode(1024),
        ..JobSpec::default()
    };
    assert_eq!(req.spec, want);
    assert_eq!(req.script, GUIDE_SCRIPT);
    assert_eq!(req.script_path.as_deref(), Some("job_script.sh"));
    assert!(req.script_args.is_empty());
    assert!(req.warnings.is_empty());
    assert!(!req.parsable);
}

#[test]
fn golden_wrap_invocations() {
    // sbatch --wrap='sleep 600' -o /dev/null
    let req = parse(&["--wrap=sleep 600", "-o", "/dev/null"], None);
    assert_eq!(req.spec.name, "wrap");
    assert_eq!(req.wrap.as_deref(), Some("sleep 600"));
    assert_eq!(req.script, wrap_script("sleep 600"));
    assert_eq!(req.spec.stdout.as_deref(), Some("/dev/null"));
    assert_eq!(req.script_path, None);

    // sbatch -J myjob -n 2 --mem=200M -t 30 --wrap='sleep 600' -o /dev/null
    let req = parse(
        &[
            "-J",
            "myjob",
            "-n",
            "2",
            "--mem=200M",
            "-t",
            "30",
            "--wrap=sleep 600",
            "-o",
            "/dev/null",
        ],
        None,
    );
    assert_eq!(req.spec.name, "myjob");
    assert_eq!(req.spec.ntasks, 2);
    assert_eq!(req.spec.mem, MemRequest::PerNode(200));
    assert_eq!(req.spec.time_limit, Some(TimeLimit::minutes(30)));

    // sbatch --parsable --wrap='sleep 600' -o /dev/null
    assert!(parse(&["--parsable", "--wrap", "sleep 600"], None).parsable);

    // runuser -u alice -- sbatch --chdir=/tmp -o /dev/null --wrap='sleep 600'
    let req = parse(
        &["--chdir=/tmp", "-o", "/dev/null", "--wrap=sleep 600"],
        None,
    );
    assert_eq!(req.spec.work_dir, "/tmp");

    // sbatch -p nosuch / -A nosuch: parsing accepts them; the controller refuses.
    let req = parse(&["-p", "nosuch", "-A", "nosuch", "--wrap=true"], None);
    assert_eq!(req.spec.partitions, ["nosuch"]);
    assert_eq!(req.spec.account, "nosuch");
}

#[test]
fn golden_empty_stdin_script() {
    // sbatch < /dev/null
    let err = parse_err(&[], Some(""));
    assert_eq!(err.message, "Batch script is empty!");
    assert_eq!(parse_err(&[], None).message, "Batch script is empty!");
}

#[test]
fn default_job_names() {
    let s = script(&[]);
    assert_eq!(
        parse(&["/home/alice/runs/train.sh"], Some(&s)).spec.name,
        "train.sh"
    );
    assert_eq!(parse(&["train.sh"], Some(&s)).spec.name, "train.sh");
    assert_eq!(
        parse(&[], Some(&s)).spec.name,
        "sbatch",
        "script from stdin"
    );
    assert_eq!(parse(&["--wrap=true"], None).spec.name, "wrap");
    let named = script(&["#SBATCH -J fromscript"]);
    assert_eq!(parse(&["train.sh"], Some(&named)).spec.name, "fromscript");
    let env = ctx_env(&[("SBATCH_JOB_NAME", "fromenv")]);
    let req = parse_sbatch(&argv(&["train.sh"]), Some(&named), &env).unwrap();
    assert_eq!(req.spec.name, "fromenv");
}

#[test]
fn command_line_overrides_directives() {
    let s = script(&[
        "#SBATCH -t 5 -p cpu",
        "#SBATCH --mem=1G -J fromscript",
        "#SBATCH -N 2",
    ]);
    let req = parse(
        &["-t", "10", "--partition=gpu", "--job-name", "cli", "job.sh"],
        Some(&s),
    );
    assert_eq!(req.spec.time_limit, Some(TimeLimit::minutes(10)));
    assert_eq!(req.spec.partitions, ["gpu"]);
    assert_eq!(req.spec.name, "cli");
    assert_eq!(
        req.spec.mem,
        MemRequest::PerNode(1024),
        "untouched directive stays"
    );
    assert_eq!(req.spec.min_nodes, 2);
}

#[test]
fn environment_sits_between_directives_and_command_line() {
    let s = script(&["#SBATCH -p fromscript -A scriptacct -t 5"]);
    let env = ctx_env(&[
        ("SBATCH_PARTITION", "fromenv"),
        ("SBATCH_ACCOUNT", "envacct"),
        ("SBATCH_TIMELIMIT", "1:00:00"),
        ("UNRELATED", "x"),
    ]);
    let req = parse_sbatch(&argv(&["-A", "cliacct", "job.sh"]), Some(&s), &env).unwrap();
    assert_eq!(req.spec.partitions, ["fromenv"]);
    assert_eq!(req.spec.account, "cliacct");
    assert_eq!(req.spec.time_limit, Some(TimeLimit::Seconds(3600)));
}

#[test]
fn environment_flags_and_errors() {
    let env = ctx_env(&[
        ("SBATCH_WAIT", ""),
        ("SBATCH_REQUEUE", "0"),
        ("SBATCH_NO_REQUEUE", "yes"),
    ]);
    let req = parse_sbatch(&argv(&["--wrap=true"]), None, &env).unwrap();
    assert!(req.wait);
    assert_eq!(req.spec.requeue, Some(false));

    let env = ctx_env(&[("SBATCH_TIMELIMIT", "abc")]);
    let err = parse_sbatch(&argv(&["--wrap=true"]), None, &env).unwrap_err();
    assert!(
        err.message
            .starts_with("invalid value \"abc\" for --time (from SBATCH_TIMELIMIT): "),
        "{err}"
    );
    assert_eq!(err.line, None);

    let env = ctx_env(&[("SBATCH_MEM_PER_NODE", "1G"), ("SBATCH_MEM_PER_CPU", "1G")]);
    let err = parse_sbatch(&argv(&["--wrap=true"]), None, &env).unwrap_err();
    assert!(err.message.contains("mutually exclusive"), "{err}");
}

#[test]
fn directive_errors_carry_the_script_line() {
    let s = "#!/bin/bash\n#SBATCH -J ok\n#SBATCH --time=abc\nsrun true\n";
    let err = parse_err(&["job.sh"], Some(s));
    assert_eq!(err.line, Some(3));
    assert_eq!(err.column, 16, "the value's column");
    assert!(
        err.message
            .starts_with("invalid value \"abc\" for --time: "),
        "{err}"
    );
    assert!(err.to_string().starts_with("line 3, column 16: "), "{err}");

    let s = script(&["#SBATCH -N 2", "#SBATCH -n 4 --foo=1"]);
    let err = parse_err(&["job.sh"], Some(&s));
    assert_eq!((err.line, err.column), (Some(3), 14));
    assert_eq!(err.message, "unrecognized option '--foo'");

    let s = script(&["#SBATCH --comment=\"x\" -n \"four\""]);
    let err = parse_err(&["job.sh"], Some(&s));
    assert_eq!(
        (err.line, err.column),
        (Some(2), 26),
        "quoted: the token's column"
    );
}

#[test]
fn command_line_errors_name_option_and_value() {
    let err = parse_err(&["-N", "2", "--time=abc", "job.sh"], Some(&script(&[])));
    assert_eq!(err.line, None);
    assert_eq!(err.column, 13);
    assert!(
        err.message
            .starts_with("invalid value \"abc\" for --time: "),
        "{err}"
    );

    let err = parse_err(&["-t", "1:2:3:4"], Some(&script(&[])));
    assert!(
        err.message
            .starts_with("invalid value \"1:2:3:4\" for --time"),
        "{err}"
    );

    let err = parse_err(&["-n", "zero", "--wrap=true"], None);
    assert_eq!(
        err.message,
        "invalid value \"zero\" for --ntasks: expected a positive integer"
    );

    assert_eq!(
        parse_err(&["--foo", "x.sh"], None).message,
        "unrecognized option '--foo'"
    );
    assert_eq!(parse_err(&["-Z"], None).message, "invalid option -- 'Z'");
}

#[test]
fn stray_and_unsupported_directives() {
    let err = parse_err(&["job.sh"], Some(&script(&["#SBATCH -N 2 oops"])));
    assert_eq!(err.message, "Invalid directive found in batch script: oops");
    assert_eq!((err.line, err.column), (Some(2), 14));

    let err = parse_err(
        &["job.sh"],
        Some(&script(&["#SBATCH -N 1", "#SBATCH hetjob"])),
    );
    assert!(err.message.contains("heterogeneous"), "{err}");
    assert_eq!(err.line, Some(3));

    let err = parse_err(&["job.sh"], Some(&script(&["#SBATCH --wrap=true"])));
    assert_eq!(err.line, Some(2));

    let err = parse_err(&["job.sh"], Some(&script(&["#SBATCH --reservation=maint"])));
    assert_eq!(err.message, "option '--reservation' is not supported");
    assert_eq!(err.line, Some(2));

    let err = parse_err(&["--exclusive=user", "--wrap=true"], None);
    assert_eq!(err.message, "option '--exclusive=user' is not supported");
    assert_eq!(
        parse_err(&["-L", "lic", "--wrap=true"], None).message,
        "option '--licenses' is not supported"
    );
}

#[test]
fn late_directives_are_ignored_with_a_warning() {
    let s = "#!/bin/sh\n#SBATCH -J early\nhostname\n#SBATCH -J late\n";
    let req = parse(&["job.sh"], Some(s));
    assert_eq!(req.spec.name, "early");
    assert_eq!(
        req.warnings,
        ["line 4: #SBATCH directive after the first command is ignored"]
    );
}

#[test]
fn script_checks() {
    let err = parse_err(&["job.sh"], Some("hostname\n"));
    assert!(
        err.message
            .starts_with("This does not look like a batch script."),
        "{err}"
    );
    let err = parse_err(&["job.sh"], Some("#!/bin/sh\r\nhostname\r\n"));
    assert!(err.message.contains("DOS line breaks"), "{err}");
    let err = parse_err(&["job.sh"], Some("#!/bin/sh\n#SBATCH --comment='open\n"));
    assert_eq!(err.line, Some(2));
}

#[test]
fn wrap_conflicts() {
    let err = parse_err(&["--wrap=true", "job.sh"], None);
    assert_eq!(
        err.message,
        "Script arguments not permitted with --wrap option"
    );
    assert_eq!(err.column, 13);
    let cmd = parse_command_line(&argv(&["--wrap=true"]), &ctx()).unwrap();
    assert!(!cmd.needs_script());
    assert!(cmd.into_request(Some("#!/bin/sh\n")).is_err());
}

#[test]
fn two_phase_parsing() {
    let cmd = parse_command_line(&argv(&["-N", "2", "job.sh", "a", "-b"]), &ctx()).unwrap();
    assert_eq!(cmd.script_path(), Some("job.sh"));
    assert_eq!(cmd.wrap(), None);
    assert!(cmd.needs_script());
    let req = cmd.into_request(Some(&script(&["#SBATCH -t 30"]))).unwrap();
    assert_eq!(
        req.script_args,
        ["a", "-b"],
        "options after the script are its arguments"
    );
    assert_eq!(req.spec.min_nodes, 2);
    assert_eq!(req.spec.time_limit, Some(TimeLimit::minutes(30)));

    let cmd = parse_command_line(&argv(&["-J", "x", "--", "-odd.sh"]), &ctx()).unwrap();
    assert_eq!(cmd.script_path(), Some("-odd.sh"));
}

#[test]
fn help_usage_version_need_no_script() {
    for flag in ["--help", "-h", "--usage", "-V"] {
        let cmd = parse_command_line(&argv(&[flag]), &ctx()).unwrap();
        assert!(!cmd.needs_script(), "{flag}");
        let req = cmd.into_request(None).unwrap();
        assert!(req.help || req.usage || req.version, "{flag}");
        assert!(req.script.is_empty());
    }
}

#[test]
fn memory_requests() {
    let mem = |args: &[&str]| parse(args, Some(&script(&[]))).spec.mem;
    assert_eq!(mem(&[]), MemRequest::Default);
    assert_eq!(mem(&["--mem=0"]), MemRequest::WholeNode);
    assert_eq!(mem(&["--mem=4G"]), MemRequest::PerNode(4096));
    assert_eq!(mem(&["--mem-per-cpu=500M"]), MemRequest::PerCpu(500));
    assert!(
        parse_err(&["--mem-per-cpu=0", "--wrap=true"], None)
            .message
            .contains("greater than 0")
    );

    let err = parse_err(&["--mem=1G", "--mem-per-cpu=1G", "--wrap=true"], None);
    assert_eq!(
        err.message,
        "--mem and --mem-per-cpu are mutually exclusive"
    );
    let err = parse_err(
        &["job.sh"],
        Some(&script(&["#SBATCH --mem-per-cpu=2G", "#SBATCH --mem=8G"])),
    );
    assert_eq!(err.line, Some(3));

    // Across layers the higher one replaces the request.
    let s = script(&["#SBATCH --mem-per-cpu=2G"]);
    assert_eq!(
        parse(&["--mem=8G", "job.sh"], Some(&s)).spec.mem,
        MemRequest::PerNode(8192)
    );
    // Repeating the same option is fine: the last wins.
    assert_eq!(mem(&["--mem=1G", "--mem=2G"]), MemRequest::PerNode(2048));
}

#[test]
fn gpu_requests() {
    let spec = parse(&["--gpus=4", "--wrap=true"], None).spec;
    assert_eq!(spec.gpus.per_job, Some(Gres::new("gpu", None, 4)));
    let spec = parse(&["-G", "a100:2", "--wrap=true"], None).spec;
    assert_eq!(spec.gpus.per_job, Some(Gres::new("gpu", Some("a100"), 2)));
    let spec = parse(
        &[
            "--gpus-per-node=8",
            "--gpus-per-task=h100:1",
            "--gres=gpu:2",
            "--wrap=true",
        ],
        None,
    )
    .spec;
    assert_eq!(
        spec.gpus,
        GpuRequest {
            per_job: None,
            per_node: Some(Gres::new("gpu", None, 8)),
            per_task: Some(Gres::new("gpu", Some("h100"), 1)),
        }
    );
    assert_eq!(spec.gres_per_node, vec![Gres::new("gpu", None, 2)]);
    // The seeds' Karpenter example: `sbatch --gres=gpu:8`.
    let spec = parse(&["--gres=gpu:8", "--wrap=true"], None).spec;
    assert_eq!(spec.gres_per_node, vec![Gres::new("gpu", None, 8)]);
    let err = parse_err(&["--gpus=x", "--wrap=true"], None);
    assert!(
        err.message.starts_with("invalid value \"x\" for --gpus"),
        "{err}"
    );
}

#[test]
fn task_and_node_counts() {
    let spec = |args: &[&str]| parse(args, Some(&script(&[]))).spec;
    let s = spec(&[]);
    assert_eq!(
        (s.min_nodes, s.max_nodes, s.ntasks, s.cpus_per_task),
        (1, None, 1, 1)
    );
    let s = spec(&["-N", "4"]);
    assert_eq!((s.min_nodes, s.ntasks), (4, 4), "one task per node");
    let s = spec(&["-N", "2", "--ntasks-per-node=8"]);
    assert_eq!(s.ntasks, 16);
    assert_eq!(s.ntasks_per_node, Some(8));
    let s = spec(&["-N", "2-4"]);
    assert_eq!((s.min_nodes, s.max_nodes, s.ntasks), (2, Some(4), 1));
    let s = spec(&["-N", "2", "-n", "6", "-c", "4"]);
    assert_eq!((s.min_nodes, s.ntasks, s.cpus_per_task), (2, 6, 4));

    let req = parse(&["-N", "4", "-n", "2"], Some(&script(&[])));
    assert_eq!(req.spec.min_nodes, 2);
    assert_eq!(
        req.warnings,
        ["Warning: can't run 2 processes on 4 nodes, setting nnodes to 2"]
    );
    let s = spec(&["-N", "1-8", "-n", "3"]);
    assert_eq!(s.max_nodes, Some(3));

    let s = spec(&["-w", "n[1-3]"]);
    assert_eq!(s.required_nodes, ["n1", "n2", "n3"]);
    assert_eq!((s.min_nodes, s.ntasks), (3, 3), "-w implies the node count");
    let s = spec(&["-x", "n1,n2"]);
    assert_eq!(s.excluded_nodes, ["n1", "n2"]);
    assert_eq!(s.min_nodes, 1);

    assert!(
        parse_err(&["-N", "4-2", "--wrap=true"], None)
            .message
            .contains("exceeds")
    );
    assert!(
        parse_err(&["-c", "0", "--wrap=true"], None)
            .message
            .contains("at least 1")
    );
}

#[test]
fn scheduling_options() {
    let spec = parse(
        &[
            "-H",
            "--exclusive",
            "--nice",
            "-d",
            "afterok:11:12?afternotok:13",
            "--array=0-15:4%2",
            "--begin=now+1hour",
            "--requeue",
            "--no-requeue",
            "-q",
            "high",
            "--wrap=true",
        ],
        None,
    )
    .spec;
    assert!(spec.hold);
    assert!(spec.exclusive);
    assert_eq!(spec.nice, 100, "bare --nice");
    assert_eq!(
        spec.dependency,
        DependencySpec {
            conditions: vec![
                Dependency::AfterOk(11),
                Dependency::AfterOk(12),
                Dependency::AfterNotOk(13)
            ],
            any: true,
        }
    );
    assert_eq!(
        spec.array,
        Some(ArraySpec {
            indices: vec![0, 4, 8, 12],
            max_running: Some(2),
        })
    );
    assert_eq!(spec.begin, Some(NOW + 3600));
    assert_eq!(spec.requeue, Some(false), "last wins");
    assert_eq!(spec.qos, "high");
    assert_eq!(parse(&["--nice=-5", "--wrap=true"], None).spec.nice, -5);
}

#[test]
fn begin_uses_the_context_clock_and_zone() {
    let kst = SubmitContext {
        tz_offset_secs: 9 * 3600,
        ..ctx()
    };
    let req = parse_sbatch(&argv(&["--begin=midnight", "--wrap=true"]), None, &kst).unwrap();
    // Local (KST) now is 2026-03-14 18:26:53; next local midnight is 15:00 UTC on the 14th.
    assert_eq!(req.spec.begin, Some(1_773_500_400));
    let s = script(&["#SBATCH --begin=now+60"]);
    assert_eq!(parse(&["job.sh"], Some(&s)).spec.begin, Some(NOW + 60));
    let err = parse_err(&["job.sh"], Some(&script(&["#SBATCH -b", "#SBATCH bogus"])));
    // As in sbatch, directives form one argument list: `-b` takes the next line's word.
    assert_eq!(err.line, Some(3));
    assert!(
        err.message
            .starts_with("invalid value \"bogus\" for --begin"),
        "{err}"
    );
}

#[test]
fn files_and_pass_through_values() {
    let spec = parse(
        &[
            "-o",
            "out-%j.log",
            "-e",
            "none",
            "-i",
            "in.txt",
            "-D",
            "runs/1",
            "--export=ALL,FOO=bar",
            "--comment=hello world",
            "-C",
            "intel&ib",
            "--signal=B:USR1@60",
            "--partition=a,b",
            "--wrap=true",
        ],
        None,
    )
    .spec;
    assert_eq!(spec.stdout.as_deref(), Some("out-%j.log"));
    assert_eq!(spec.stderr.as_deref(), Some("/dev/null"));
    assert_eq!(spec.stdin.as_deref(), Some("in.txt"));
    assert_eq!(spec.work_dir, "runs/1");
    assert_eq!(spec.export.as_deref(), Some("ALL,FOO=bar"));
    assert_eq!(spec.comment.as_deref(), Some("hello world"));
    assert_eq!(spec.constraint, ["intel", "ib"]);
    assert_eq!(spec.signal.as_deref(), Some("B:USR1@60"));
    assert_eq!(spec.partitions, ["a", "b"]);
}

#[test]
fn command_switches() {
    let req = parse(
        &[
            "--parsable",
            "-W",
            "--test-only",
            "-vv",
            "--mail-type=END,FAIL",
            "--mail-user=a@b.c",
            "--wrap=true",
        ],
        None,
    );
    assert!(req.parsable && req.wait && req.test_only);
    assert_eq!(req.verbose, 2);
    assert!(!req.quiet);
    assert_eq!(req.mail_type.as_deref(), Some("END,FAIL"));
    assert_eq!(req.mail_user.as_deref(), Some("a@b.c"));
    assert!(parse(&["-Q", "--wrap=true"], None).quiet);
    let err = parse_err(&["-v", "-Q", "--wrap=true"], None);
    assert_eq!(
        err.message,
        "don't specify both --verbose (-v) and --quiet (-Q)"
    );
}

#[test]
fn open_mode_from_every_layer() {
    assert_eq!(parse(&["--wrap=true"], None).spec.open_mode, None);
    let mode = |args: &[&str]| parse(args, None).spec.open_mode;
    assert_eq!(
        mode(&["--open-mode=append", "--wrap=true"]),
        Some(OpenMode::Append)
    );
    assert_eq!(
        mode(&["--open-mode=T", "--wrap=true"]),
        Some(OpenMode::Truncate)
    );
    assert_eq!(
        mode(&["--open-mode", "Append", "--wrap=true"]),
        Some(OpenMode::Append)
    );

    let s = script(&["#SBATCH --open-mode=append"]);
    assert_eq!(
        parse(&["job.sh"], Some(&s)).spec.open_mode,
        Some(OpenMode::Append)
    );

    let env = ctx_env(&[("SBATCH_OPEN_MODE", "append")]);
    let req = parse_sbatch(&argv(&["job.sh"]), Some(&s), &env).unwrap();
    assert_eq!(req.spec.open_mode, Some(OpenMode::Append));
    let req = parse_sbatch(&argv(&["--open-mode=truncate", "job.sh"]), Some(&s), &env).unwrap();
    assert_eq!(
        req.spec.open_mode,
        Some(OpenMode::Truncate),
        "the command line wins"
    );

    let err = parse_err(&["--open-mode=keep", "--wrap=true"], None);
    assert!(err.message.contains("expected append or truncate"), "{err}");
}

#[test]
fn directives_with_several_options_and_quotes() {
    let s = script(&[
        "#SBATCH -N 2 -n 4 # two nodes",
        "#SBATCH --comment=\"nightly run\" -J 'my job'",
        "#SBATCH -t1:00:00",
    ]);
    let req = parse(&["job.sh"], Some(&s));
    assert_eq!((req.spec.min_nodes, req.spec.ntasks), (2, 4));
    assert_eq!(req.spec.comment.as_deref(), Some("nightly run"));
    assert_eq!(req.spec.name, "my job");
    assert_eq!(req.spec.time_limit, Some(TimeLimit::Seconds(3600)));
}

#[test]
fn korean_values_and_columns() {
    let s = script(&["#SBATCH -J 학습작업 --comment=실험1"]);
    let req = parse(&["job.sh"], Some(&s));
    assert_eq!(req.spec.name, "학습작업");
    assert_eq!(req.spec.comment.as_deref(), Some("실험1"));
    let s = script(&["#SBATCH -J 학습 -t 열시간"]);
    let err = parse_err(&["job.sh"], Some(&s));
    assert_eq!(
        (err.line, err.column),
        (Some(2), 18),
        "columns count characters"
    );
}
