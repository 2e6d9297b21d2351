//! The sbatch command: argv + environment + script directives → [`SbatchRequest`].

use std::collections::BTreeMap;

use super::directives::{self, validate_script, wrap_script};
use super::getopt::{self, Pos, Word};
use super::settings::{self, GpuScope, Layer, Located, Setting, TimeRef};
use crate::model::{JobSpec, MemRequest, Timestamp};
use crate::parse::ParseError;

/// What parsing needs from the world, passed in so that parsing stays pure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitContext {
    /// The submission time, for relative `--begin` times (`now+1hour`, `16:00`).
    pub now: Timestamp,
    /// The submitter's time zone, seconds east of UTC, for wall-clock `--begin` times.
    pub tz_offset_secs: i32,
    /// The submitter's environment; only the `SBATCH_*` variables sbatch reads are used
    /// (`SBATCH_PARTITION`, `SBATCH_TIMELIMIT`, `SBATCH_ACCOUNT`, `SBATCH_JOB_NAME`, ...).
    pub env: BTreeMap<String, String>,
}

impl SubmitContext {
    /// A context at `now`, in UTC, with an empty environment.
    pub fn at(now: Timestamp) -> Self {
        Self {
            now,
            ..Self::default()
        }
    }

    fn time(&self) -> TimeRef {
        TimeRef {
            now: self.now,
            tz_offset_secs: self.tz_offset_secs,
        }
    }
}

/// A parsed sbatch invocation: the job and the command-level switches around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbatchRequest {
    /// The job. `user`, `uid`, `gid` are left for the caller; `work_dir` is `--chdir` as given
    /// (empty: the submit directory; relative paths are the caller's to resolve); `stdout` is
    /// `None` unless given (see [`super::default_output_pattern`]).
    pub spec: JobSpec,
    /// The batch script to run: the one given, or the one generated for `--wrap`. Empty for
    /// `--help`, `--usage` and `--version`.
    pub script: String,
    /// The script file named on the command line (`None`: stdin, or `--wrap`).
    pub script_path: Option<String>,
    /// Arguments after the script path.
    pub script_args: Vec<String>,
    /// `--wrap` command.
    pub wrap: Option<String>,
    /// `--parsable`: print only `jobid[;cluster]`.
    pub parsable: bool,
    /// `-W`/`--wait`: do not exit until the job ends.
    pub wait: bool,
    /// `--test-only`: validate and estimate the start time, submit nothing.
    pub test_only: bool,
    /// Number of `-v` flags.
    pub verbose: u8,
    /// `-Q`/`--quiet`.
    pub quiet: bool,
    /// `--mail-type`, accepted and not acted on (the caller may warn).
    pub mail_type: Option<String>,
    /// `--mail-user`, accepted and not acted on (the caller may warn).
    pub mail_user: Option<String>,
    /// `-h`/`--help`, `-u`/`--usage`, `-V`/`--version`: the caller prints and exits.
    pub help: bool,
    pub usage: bool,
    pub version: bool,
    /// Things sbatch would mention but that do not stop the submission (ignored directives,
    /// adjusted node counts), one line each, without the `sbatch: ` prefix.
    pub warnings: Vec<String>,
}

/// An sbatch command line parsed on its own: the first half of [`parse_sbatch`], for callers
/// that must learn the script path before reading the script.
///
/// ```
/// use slurm_core::parse::sbatch::{parse_command_line, SubmitContext};
///
/// let args: Vec<String> = ["-N", "2", "job.sh", "input.dat"].map(String::from).to_vec();
/// let cmd = parse_command_line(&args, &SubmitContext::at(1_800_000_000)).unwrap();
/// assert_eq!(cmd.script_path(), Some("job.sh"));
/// let script = "#!/bin/sh\n#SBATCH -t 30\nsrun hostname\n"; // read from job.sh
/// let req = cmd.into_request(Some(script)).unwrap();
/// assert_eq!(req.spec.min_nodes, 2);
/// assert_eq!(req.spec.name, "job.sh");
/// assert_eq!(req.script_args, ["input.dat"]);
/// ```
#[derive(Debug, Clone)]
pub struct CommandLine {
    /// Environment settings, then argv settings: the order they apply in.
    settings: Vec<Located>,
    script_path: Option<String>,
    script_args: Vec<String>,
    wrap: Option<String>,
    info_only: bool,
    time: TimeRef,
}

/// Parses sbatch's argv (without the program name) and the `SBATCH_*` environment.
///
/// The first non-option argument is the script path and the rest are its arguments (`--`
/// also ends the options). Errors name the option and value and give the column in the
/// space-joined command line: `unrecognized option '--foo'`,
/// `invalid value "abc" for --time: ...`, `Script arguments not permitted with --wrap option`.
pub fn parse_command_line(args: &[String], ctx: &SubmitContext) -> Result<CommandLine, ParseError> {
    let time = ctx.time();
    let words = Word::from_argv(args);
    let scanned = getopt::scan(&words)?;
    let mut all = settings::from_env(&ctx.env, time)?;
    let cli = settings::from_occurrences(&scanned.options, Layer::CommandLine, time)?;
    let wrap = cli.iter().rev().find_map(|l| match &l.setting {
        Setting::Wrap(cmd) => Some(cmd.clone()),
        _ => None,
    });
    let info_only = cli
        .iter()
        .any(|l| matches!(l.setting, Setting::Help | Setting::Usage | Setting::Version));
    all.extend(cli);
    let mut operands = scanned.operands.into_iter();
    let script = operands.next();
    if let (Some(_), Some(path)) = (&wrap, &script) {
        return Err(path
            .pos
            .error("Script arguments not permitted with --wrap option"));
    }
    Ok(CommandLine {
        settings: all,
        script_path: script.map(|w| w.text),
        script_args: operands.map(|w| w.text).collect(),
        wrap,
        info_only,
        time,
    })
}

impl CommandLine {
    /// The script file to read, if one was named.
    pub fn script_path(&self) -> Option<&str> {
        self.script_path.as_deref()
    }

    /// The `--wrap` command, if given (then no script is to be read).
    pub fn wrap(&self) -> Option<&str> {
        self.wrap.as_deref()
    }

    /// True when the caller needs to supply a script: neither `--wrap` nor
    /// `--help`/`--usage`/`--version`. The script is the file at [`Self::script_path`], or
    /// stdin when there is none.
    pub fn needs_script(&self) -> bool {
        self.wrap.is_none() && !self.info_only
    }

    /// Completes the request with the batch script's text (`None` when [`Self::needs_script`]
    /// is false; `None` otherwise reads as an empty script).
    ///
    /// The script is checked as sbatch does ([`validate_script`]) and its `#SBATCH` directives
    /// apply under the environment and the command line. Errors from directives carry the
    /// script line.
    pub fn into_request(self, script: Option<&str>) -> Result<SbatchRequest, ParseError> {
        let mut builder = Builder::default();
        let script_text = if self.info_only {
            String::new()
        } else if let Some(cmd) = &self.wrap {
            if script.is_some() {
                return Err(ParseError::at(
                    1,
                    "a batch script cannot be combined with --wrap",
                ));
            }
            wrap_script(cmd)
        } else {
            let text = script.unwrap_or_default();
            validate_script(text)?;
            builder.apply_script(text, self.time)?;
            text.to_owned()
        };
        for located in &self.settings {
            builder.apply(located)?;
        }
        let mut req = builder.finish();
        req.script = script_text;
        req.spec.name = default_name(
            std::mem::take(&mut req.spec.name),
            self.script_path.as_deref(),
            self.wrap.as_deref(),
        );
        req.script_path = self.script_path;
        req.script_args = self.script_args;
        req.wrap = self.wrap;
        Ok(req)
    }
}

/// Parses an sbatch invocation: `args` without the program name, `script` the batch script's
/// text (`None` with `--wrap`). See [`parse_command_line`] and [`CommandLine::into_request`].
///
/// Precedence, as in sbatch: command line over `SBATCH_*` environment over `#SBATCH`
/// directives; within one layer the last occurrence wins, except that `--mem` and
/// `--mem-per-cpu` in the same layer are an error.
pub fn parse_sbatch(
    args: &[String],
    script: Option<&str>,
    ctx: &SubmitContext,
) -> Result<SbatchRequest, ParseError> {
    parse_command_line(args, ctx)?.into_request(script)
}

/// sbatch's job name when none is given: the script's file name, `wrap` for `--wrap`,
/// `sbatch` for a script read from stdin.
fn default_name(given: String, script_path: Option<&str>, wrap: Option<&str>) -> String {
    if !given.is_empty() {
        return given;
    }
    match (script_path, wrap) {
        (_, Some(_)) => "wrap".to_owned(),
        (Some(path), None) => match path.rsplit('/').next() {
            Some(base) if !base.is_empty() => base.to_owned(),
            _ => path.to_owned(),
        },
        (None, None) => "sbatch".to_owned(),
    }
}

/// Accumulates settings, layer by layer, into a request.
#[derive(Debug, Default)]
struct Builder {
    req: SbatchRequest,
    /// Whether `-n` was given (Slurm derives it from `-N` and `--ntasks-per-node` otherwise).
    ntasks_set: bool,
    /// The layer and kind (`true`: per CPU) of the memory request, to refuse `--mem` with
    /// `--mem-per-cpu` in one layer.
    mem_from: Option<(Layer, bool)>,
}

impl Builder {
    /// Applies the script's directives (the lowest layer).
    fn apply_script(&mut self, script: &str, time: TimeRef) -> Result<(), ParseError> {
        let found = directives::scan(script)?;
        for line in found.ignored_lines {
            self.req.warnings.push(format!(
                "line {line}: #SBATCH directive after the first command is ignored"
            ));
        }
        let scanned = getopt::scan(&found.words)?;
        if let Some(stray) = scanned.operands.first() {
            return Err(stray_directive(stray));
        }
        for located in settings::from_occurrences(&scanned.options, Layer::Script, time)? {
            if matches!(located.setting, Setting::Wrap(_)) {
                return Err(located.pos.error("--wrap cannot be used in a batch script"));
            }
            self.apply(&located)?;
        }
        Ok(())
    }

    fn apply(&mut self, located: &Located) -> Result<(), ParseError> {
        let spec = &mut self.req.spec;
        match located.setting.clone() {
            Setting::Name(name) => spec.name = name,
            Setting::Stdout(path) => spec.stdout = Some(path),
            Setting::Stderr(path) => spec.stderr = Some(path),
            Setting::Stdin(path) => spec.stdin = Some(path),
            Setting::OpenMode(mode) => spec.open_mode = Some(mode),
            Setting::Partitions(list) => spec.partitions = list,
            Setting::Time(limit) => spec.time_limit = Some(limit),
            Setting::Nodes(min, max) => {
                spec.min_nodes = min;
                spec.max_nodes = max;
            }
            Setting::Ntasks(n) => {
                spec.ntasks = n;
                self.ntasks_set = true;
            }
            Setting::CpusPerTask(n) => spec.cpus_per_task = n,
            Setting::NtasksPerNode(n) => spec.ntasks_per_node = Some(n),
            Setting::Mem(mem) => self.set_mem(mem, located)?,
            Setting::Gres(list) => spec.gres_per_node = list,
            Setting::Gpus(GpuScope::Job, gpus) => spec.gpus.per_job = gpus,
            Setting::Gpus(GpuScope::Node, gpus) => spec.gpus.per_node = gpus,
            Setting::Gpus(GpuScope::Task, gpus) => spec.gpus.per_task = gpus,
            Setting::Account(account) => spec.account = account,
            Setting::Qos(qos) => spec.qos = qos,
            Setting::Array(array) => spec.array = Some(array),
            Setting::Dependency(dep) => spec.dependency = dep,
            Setting::Begin(at) => spec.begin = Some(at),
            Setting::Hold => spec.hold = true,
            Setting::Exclusive => spec.exclusive = true,
            Setting::Export(export) => spec.export = Some(export),
            Setting::Chdir(dir) => spec.work_dir = dir,
            Setting::Requeue(requeue) => spec.requeue = Some(requeue),
            Setting::Nice(nice) => spec.nice = nice,
            Setting::Comment(comment) => spec.comment = Some(comment),
            Setting::Constraint(features) => spec.constraint = features,
            Setting::Signal(signal) => spec.signal = Some(signal),
            Setting::Nodelist(nodes) => spec.required_nodes = nodes,
            Setting::Exclude(nodes) => spec.excluded_nodes = nodes,
            other => self.apply_command_switch(other, located.pos)?,
        }
        Ok(())
    }

    /// Settings that belong to the command, not the job.
    fn apply_command_switch(&mut self, setting: Setting, pos: Pos) -> Result<(), ParseError> {
        let req = &mut self.req;
        match setting {
            Setting::Wrap(_) => {} // taken by parse_command_line
            Setting::Parsable => req.parsable = true,
            Setting::Wait => req.wait = true,
            Setting::TestOnly => req.test_only = true,
            Setting::Verbose => req.verbose = req.verbose.saturating_add(1),
            Setting::Quiet => req.quiet = true,
            Setting::MailType(v) => req.mail_type = Some(v),
            Setting::MailUser(v) => req.mail_user = Some(v),
            Setting::Help => req.help = true,
            Setting::Usage => req.usage = true,
            Setting::Version => req.version = true,
            _ => {}
        }
        if req.quiet && req.verbose > 0 {
            return Err(pos.error("don't specify both --verbose (-v) and --quiet (-Q)"));
        }
        Ok(())
    }

    fn set_mem(&mut self, mem: MemRequest, located: &Located) -> Result<(), ParseError> {
        let per_cpu = matches!(mem, MemRequest::PerCpu(_));
        let conflict = self
            .mem_from
            .is_some_and(|(layer, was_per_cpu)| layer == located.layer && was_per_cpu != per_cpu);
        if conflict {
            return Err(located
                .pos
                .error("--mem and --mem-per-cpu are mutually exclusive"));
        }
        self.mem_from = Some((located.layer, per_cpu));
        self.req.spec.mem = mem;
        Ok(())
    }

    /// sbatch's post-processing of node and task counts.
    fn finish(mut self) -> SbatchRequest {
        let spec = &mut self.req.spec;
        let listed = u32::try_from(spec.required_nodes.len()).unwrap_or(u32::MAX);
        if listed > spec.min_nodes {
            spec.min_nodes = listed;
            if let Some(max) = spec.max_nodes.as_mut() {
                *max = (*max).max(listed);
            }
        }
        if self.ntasks_set {
            if spec.ntasks < spec.min_nodes {
                self.req.warnings.push(format!(
                    "Warning: can't run {} processes on {} nodes, setting nnodes to {}",
                    spec.ntasks, spec.min_nodes, spec.ntasks
                ));
                spec.min_nodes = spec.ntasks;
            }
            if let Some(max) = spec.max_nodes.as_mut() {
                *max = (*max).min(spec.ntasks).max(spec.min_nodes);
            }
        } else {
            spec.ntasks = default_ntasks(spec);
        }
        self.req
    }
}

/// `-n` when not given: one task per node (times `--ntasks-per-node`) for a fixed node count,
/// else 1.
pub(super) fn default_ntasks(spec: &JobSpec) -> u32 {
    let fixed = spec.max_nodes.is_none_or(|max| max == spec.min_nodes);
    if fixed {
        spec.min_nodes
            .max(1)
            .saturating_mul(spec.ntasks_per_node.unwrap_or(1))
    } else {
        1
    }
}

fn stray_directive(word: &Word) -> ParseError {
    let message =
        if word.text.eq_ignore_ascii_case("hetjob") || word.text.eq_ignore_ascii_case("packjob") {
            "heterogeneous jobs (hetjob) are not supported".to_owned()
        } else {
            format!("Invalid directive found in batch script: {}", word.text)
        };
    word.pos.error(message)
}
