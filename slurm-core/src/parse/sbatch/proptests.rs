//! Property tests: `parse(render(spec)) == spec` through argv and through `#SBATCH`
//! directives, `parse(print(x)) == x` for dependencies and arrays, and no panics on arbitrary
//! input.

use std::collections::BTreeSet;

use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;

use super::request::default_ntasks;
use super::*;
use crate::model::{
    ArraySpec, Dependency, DependencySpec, GpuRequest, Gres, JobSpec, MemRequest, OpenMode,
    TimeLimit,
};

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.-]{0,10}"
}

/// Free text without line breaks (directive values cannot span lines).
fn text() -> impl Strategy<Value = String> {
    "[^\n\r]{0,16}"
}

fn path() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_./%-]{1,16}"
        .prop_filter("none means /dev/null", |p| !p.eq_ignore_ascii_case("none"))
}

fn host() -> impl Strategy<Value = String> {
    "[a-z]{1,4}[0-9]{0,3}"
}

fn hosts() -> impl Strategy<Value = Vec<String>> {
    btree_set(host(), 0..4).prop_map(|set| set.into_iter().collect())
}

fn gres(names: &'static [&'static str]) -> impl Strategy<Value = Gres> {
    (
        prop::sample::select(names),
        // A type named like the GRES itself (`gpu:gpu:2`) has no `--gpus` spelling.
        option::of("[a-z][a-z0-9]{0,5}".prop_filter("not the GRES name", |k| k != "gpu")),
        1..64u64,
    )
        .prop_map(|(name, kind, count)| Gres {
            name: name.to_owned(),
            kind,
            count,
        })
}

fn gpu() -> impl Strategy<Value = Gres> {
    gres(&["gpu"])
}

fn mem() -> impl Strategy<Value = MemRequest> {
    prop_oneof![
        Just(MemRequest::Default),
        Just(MemRequest::WholeNode),
        (1..1u64 << 24).prop_map(MemRequest::PerNode),
        (1..1u64 << 20).prop_map(MemRequest::PerCpu),
    ]
}

fn time_limit() -> impl Strategy<Value = TimeLimit> {
    prop_oneof![
        Just(TimeLimit::Infinite),
        (0..10_000_000u64).prop_map(TimeLimit::Seconds),
    ]
}

fn dependency() -> impl Strategy<Value = Dependency> {
    let id = 1..10_000_000u32;
    prop_oneof![
        id.clone().prop_map(Dependency::After),
        id.clone().prop_map(Dependency::AfterAny),
        id.clone().prop_map(Dependency::AfterOk),
        id.prop_map(Dependency::AfterNotOk),
        Just(Dependency::Singleton),
    ]
}

/// Dependency specs as the parser produces them: `any` only for two or more conditions.
fn dependency_spec() -> impl Strategy<Value = DependencySpec> {
    (vec(dependency(), 0..5), any::<bool>()).prop_map(|(conditions, any)| DependencySpec {
        any: any && conditions.len() > 1,
        conditions,
    })
}

fn array_spec() -> impl Strategy<Value = ArraySpec> {
    (btree_set(0..2000u32, 1..40), option::of(1..50u32)).prop_map(|(set, max_running)| ArraySpec {
        indices: set.into_iter().collect(),
        max_running,
    })
}

fn signal() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "USR1",
            "B:USR1@60",
            "R:TERM@120",
            "SIGINT",
            "15",
            "RB:HUP@0",
        ][..],
    )
    .prop_map(str::to_owned)
}

/// Node and task counts as sbatch leaves them: `-n` at least the node count and the maximum
/// node count, and `-w` names no more nodes than the minimum.
fn counts() -> impl Strategy<Value = (u32, Option<u32>, u32, Option<u32>, Vec<String>)> {
    (
        1..32u32,
        option::of(0..32u32),
        option::of(0..64u32),
        option::of(1..8u32),
        hosts(),
    )
        .prop_map(|(min, span, extra_tasks, per_node, required)| {
            let listed = u32::try_from(required.len()).unwrap_or(0);
            let min = min.max(listed);
            let max = span.map(|s| min + s);
            let spec = JobSpec {
                min_nodes: min,
                max_nodes: max,
                ntasks_per_node: per_node,
                ..JobSpec::default()
            };
            let ntasks = match extra_tasks {
                Some(extra) => max.unwrap_or(min) + extra,
                None => default_ntasks(&spec),
            };
            (min, max, ntasks, per_node, required)
        })
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    let identity = (
        name(),
        prop_oneof![Just(String::new()), name()],
        vec(name(), 0..3),
        prop_oneof![Just(String::new()), name()],
        option::of(time_limit()),
    );
    let resources = (
        counts(),
        1..64u32,
        mem(),
        vec(gres(&["gpu", "shard", "mps"]), 0..3),
        (option::of(gpu()), option::of(gpu()), option::of(gpu())),
        any::<bool>(),
    );
    let scheduling = (
        dependency_spec(),
        any::<bool>(),
        option::of(1_000_000..4_000_000_000i64),
        option::of(array_spec()),
        -10_000..10_000i32,
        option::of(any::<bool>()),
        option::of(text()),
        vec("[a-z][a-z0-9_]{0,6}", 0..3),
        option::of(signal()),
    );
    let files = (
        prop_oneof![Just(String::new()), path()],
        (option::of(path()), option::of(path()), option::of(path())),
        option::of(text()),
        hosts(),
        option::of(prop_oneof![
            Just(OpenMode::Truncate),
            Just(OpenMode::Append)
        ]),
    );
    (identity, resources, scheduling, files).prop_map(|(identity, resources, scheduling, files)| {
        let (name, account, partitions, qos, time_limit) = identity;
        let (counts, cpus_per_task, mem, gres_per_node, gpus, exclusive) = resources;
        let (min_nodes, max_nodes, ntasks, ntasks_per_node, required_nodes) = counts;
        let (dependency, hold, begin, array, nice, requeue, comment, constraint, signal) =
            scheduling;
        let (work_dir, (stdout, stderr, stdin), export, excluded_nodes, open_mode) = files;
        JobSpec {
            name,
            account,
            partitions,
            qos,
            time_limit,
            min_nodes,
            max_nodes,
            ntasks,
            cpus_per_task,
            ntasks_per_node,
            mem,
            gres_per_node,
            gpus: GpuRequest {
                per_job: gpus.0,
                per_node: gpus.1,
                per_task: gpus.2,
            },
            exclusive,
            dependency,
            hold,
            begin,
            array,
            nice,
            requeue,
            comment,
            constraint,
            signal,
            work_dir,
            stdout,
            stderr,
            stdin,
            open_mode,
            export,
            required_nodes,
            excluded_nodes,
            ..JobSpec::default()
        }
    })
}

/// Quotes an argument for an `#SBATCH` line.
fn quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A script carrying `args` as directives, a few per line.
fn script_with(args: &[String]) -> String {
    let mut script = "#!/bin/bash\n# generated\n\n".to_owned();
    for chunk in args.chunks(3) {
        let quoted: Vec<String> = chunk.iter().map(|a| quote(a)).collect();
        script.push_str(&format!("#SBATCH {}  # comment\n", quoted.join(" ")));
    }
    script.push_str("srun true\n");
    script
}

fn context() -> SubmitContext {
    SubmitContext::at(1_773_480_413)
}

proptest! {
    #[test]
    fn spec_round_trips_through_argv(spec in job_spec()) {
        let mut args = render_sbatch_args(&spec);
        args.push("--wrap=true".to_owned());
        let req = parse_sbatch(&args, None, &context())
            .map_err(|e| TestCaseError::fail(format!("{args:?}: {e}")))?;
        prop_assert_eq!(req.spec, spec, "{:?}", args);
    }

    #[test]
    fn spec_round_trips_through_directives(spec in job_spec()) {
        let script = script_with(&render_sbatch_args(&spec));
        let req = parse_sbatch(&["job.sh".to_owned()], Some(&script), &context())
            .map_err(|e| TestCaseError::fail(format!("{script}: {e}")))?;
        prop_assert_eq!(req.spec, spec, "{}", script);
    }

    #[test]
    fn command_line_wins_over_directives(spec in job_spec(), other in job_spec()) {
        // Every option the spec sets on the command line beats the other's directives; the
        // options only the directives set survive. Check the ones both always set.
        let script = script_with(&render_sbatch_args(&other));
        let mut args = render_sbatch_args(&spec);
        args.push("job.sh".to_owned());
        let req = parse_sbatch(&args, Some(&script), &context())
            .map_err(|e| TestCaseError::fail(format!("{args:?} {script}: {e}")))?;
        prop_assert_eq!(&req.spec.name, &spec.name);
        prop_assert_eq!(req.spec.cpus_per_task, if spec.cpus_per_task != 1 { spec.cpus_per_task } else { other.cpus_per_task });
        prop_assert_eq!(req.spec.hold, spec.hold || other.hold);
    }

    #[test]
    fn dependency_round_trips(spec in dependency_spec()) {
        prop_assert_eq!(parse_dependency(&spec.to_string()).unwrap(), spec);
    }

    #[test]
    fn array_round_trips(spec in array_spec()) {
        prop_assert_eq!(parse_array(&spec.to_string()).unwrap(), spec);
    }

    #[test]
    fn array_indices_are_sorted_and_unique(input in "[0-9,:%-]{1,20}") {
        if let Ok(spec) = parse_array(&input) {
            prop_assert!(spec.indices.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(spec.indices.iter().all(|&i| i <= MAX_ARRAY_INDEX));
        }
    }

    #[test]
    fn begin_reads_back_absolute_times(ts in 86_400..250_000_000_000i64, tz in -50_400..50_400i32) {
        let text = super::begin::format_local(ts, tz);
        prop_assert_eq!(parse_begin(&text, 0, tz).unwrap(), ts, "{}", text);
        let uts = parse_begin(&format!("uts{ts}"), 0, tz);
        if ts >= 1_000_000 {
            prop_assert_eq!(uts.unwrap(), ts);
        } else {
            prop_assert!(uts.is_err());
        }
    }

    #[test]
    fn directive_arguments_survive_quoting(args in vec(text(), 0..8)) {
        let script = script_with(&args);
        let parsed: Vec<String> = parse_directives(&script).unwrap().into_iter().map(|(_, a)| a).collect();
        prop_assert_eq!(parsed, args);
    }

    #[test]
    fn patterns_without_specifiers_are_unchanged(s in "[^%\\\\]{0,30}") {
        prop_assert_eq!(expand_output_pattern(&s, &PatternContext::new(7)), s);
    }

    #[test]
    fn no_panics_on_arbitrary_patterns(s in ".{0,30}") {
        let _ = expand_output_pattern(&s, &PatternContext::new(7));
    }

    #[test]
    fn no_panics_on_arbitrary_values(s in ".{0,24}") {
        let _ = parse_dependency(&s);
        let _ = parse_array(&s);
        let _ = parse_begin(&s, 1_773_480_413, 3600);
        let _ = parse_directives(&format!("#!/bin/sh\n#SBATCH {s}\n"));
    }

    #[test]
    fn no_panics_on_arbitrary_command_lines(
        args in vec(prop_oneof!["-[a-zA-Z]{1,3}", "--[a-z-]{1,12}(=.{0,8})?", ".{0,8}"], 0..6),
        body in vec("[^\n]{0,30}", 0..4),
    ) {
        let script = format!("#!/bin/sh\n{}\n", body.iter().map(|l| format!("#SBATCH {l}")).collect::<Vec<_>>().join("\n"));
        let _ = parse_sbatch(&args, Some(&script), &context());
        let _ = parse_sbatch(&args, None, &context());
    }
}

#[test]
fn generated_specs_are_valid_examples() {
    // A hand-written spec exercising every field, through both paths.
    let spec = JobSpec {
        name: "train".to_owned(),
        account: "ml".to_owned(),
        partitions: vec!["gpu".to_owned(), "cpu".to_owned()],
        qos: "high".to_owned(),
        time_limit: Some(TimeLimit::Seconds(90_061)),
        min_nodes: 2,
        max_nodes: Some(4),
        ntasks: 8,
        cpus_per_task: 4,
        ntasks_per_node: Some(2),
        mem: MemRequest::PerCpu(2048),
        gres_per_node: vec![Gres::new("gpu", Some("a100"), 2)],
        gpus: GpuRequest {
            per_job: Some(Gres::new("gpu", None, 4)),
            per_node: None,
            per_task: Some(Gres::new("gpu", Some("a100"), 1)),
        },
        exclusive: true,
        dependency: DependencySpec {
            conditions: vec![Dependency::AfterOk(5), Dependency::Singleton],
            any: false,
        },
        hold: true,
        begin: Some(1_800_000_000),
        array: Some(ArraySpec {
            indices: vec![1, 2, 3, 7],
            max_running: Some(2),
        }),
        nice: -3,
        requeue: Some(false),
        comment: Some("say \"hi\" # not a comment".to_owned()),
        constraint: vec!["intel".to_owned(), "ib".to_owned()],
        signal: Some("B:USR1@60".to_owned()),
        work_dir: "/scratch/run 1".to_owned(),
        stdout: Some("out-%A_%a.log".to_owned()),
        stderr: Some("/dev/null".to_owned()),
        stdin: None,
        export: Some("ALL,OMP_NUM_THREADS=4".to_owned()),
        required_nodes: vec!["gpu01".to_owned(), "gpu02".to_owned()],
        excluded_nodes: vec!["gpu09".to_owned()],
        ..JobSpec::default()
    };
    let args = render_sbatch_args(&spec);
    let mut argv = args.clone();
    argv.push("--wrap=true".to_owned());
    assert_eq!(parse_sbatch(&argv, None, &context()).unwrap().spec, spec);
    let script = script_with(&args);
    assert_eq!(
        parse_sbatch(&["job.sh".to_owned()], Some(&script), &context())
            .unwrap()
            .spec,
        spec
    );
    let rendered: BTreeSet<&str> = args.iter().map(String::as_str).collect();
    for want in [
        "--nodes=2-4",
        "--ntasks=8",
        "--mem-per-cpu=2048",
        "--gpus=4",
        "--gpus-per-task=a100:1",
        "--begin=uts1800000000",
    ] {
        assert!(rendered.contains(want), "{want} in {args:?}");
    }
}
