//! `--output` / `--error` / `--input` file name patterns (`slurm-%j.out`).

use std::fmt::Write as _;

use crate::model::{Job, JobId};

/// What Slurm prints for `%a` (and uses for `%b`) in a job that is not part of an array: its
/// `NO_VAL` task id. Kept for compatibility with file names users already have.
const NO_ARRAY_TASK: u32 = 4_294_967_294;

/// The widest zero padding Slurm applies (`%12j` pads to 10).
const MAX_PADDING: usize = 10;

/// The values a file name pattern can refer to, for one job (a batch step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternContext {
    /// `%j`.
    pub job_id: JobId,
    /// `%x`.
    pub job_name: String,
    /// `%A`: the array's master job id; the job id for jobs outside arrays.
    pub array_job_id: Option<JobId>,
    /// `%a`: the array task index.
    pub array_task_id: Option<u32>,
    /// `%u`.
    pub user: String,
    /// `%N`: the first node of the allocation (where the batch script runs).
    pub node_name: String,
    /// `%n`: the node's index in the job (0 for the batch step).
    pub node_id: u32,
    /// `%t`: the task rank (0 for the batch step).
    pub task_id: u32,
    /// `%s`: the step, `batch` for the batch script.
    pub step: String,
}

impl PatternContext {
    /// A context for job `job_id` with everything else empty (batch step, node and task 0).
    pub fn new(job_id: JobId) -> Self {
        Self {
            job_id,
            job_name: String::new(),
            array_job_id: None,
            array_task_id: None,
            user: String::new(),
            node_name: String::new(),
            node_id: 0,
            task_id: 0,
            step: "batch".to_owned(),
        }
    }

    /// The batch step's context for a job the controller tracks.
    pub fn for_job(job: &Job) -> Self {
        Self {
            job_name: job.spec.name.clone(),
            array_job_id: job.array_job_id,
            array_task_id: job.array_task_id,
            user: job.spec.user.clone(),
            node_name: job
                .node_names()
                .first()
                .map_or_else(String::new, |n| (*n).to_owned()),
            ..Self::new(job.id)
        }
    }
}

/// The output file pattern used when `--output` is not given: `slurm-%j.out`, or
/// `slurm-%A_%a.out` for job arrays. `--error` defaults to the output file.
pub fn default_output_pattern(is_array: bool) -> &'static str {
    if is_array {
        "slurm-%A_%a.out"
    } else {
        "slurm-%j.out"
    }
}

/// Expands a file name pattern as slurmd does for the batch step.
///
/// `%j` job id, `%x` job name, `%A` array master id (the job id outside arrays), `%a` array
/// task id, `%b` task id modulo 10, `%u` user, `%N` first node, `%n` node id, `%t` task id,
/// `%s` step, `%J` job id (`id.step` for steps other than `batch`), `%%` a percent sign.
/// A number after `%` zero-pads numeric fields (`%4j` → `0042`, at most 10 wide). Unknown
/// specifiers are kept as written; a pattern containing a backslash is not expanded at all
/// (the backslashes are removed), as in Slurm.
pub fn expand_output_pattern(pattern: &str, ctx: &PatternContext) -> String {
    if pattern.contains('\\') {
        return pattern.chars().filter(|&c| c != '\\').collect();
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = expand_one(&rest[at + 1..], ctx, &mut out);
    }
    out.push_str(rest);
    out
}

/// Expands the specifier at the start of `spec` (just after a `%`) into `out`; returns what
/// follows it.
fn expand_one<'a>(spec: &'a str, ctx: &PatternContext, out: &mut String) -> &'a str {
    let digits = spec.bytes().take_while(u8::is_ascii_digit).count();
    let Some(letter) = spec[digits..].chars().next() else {
        // A trailing `%` or `%12`: nothing to expand.
        out.push('%');
        out.push_str(spec);
        return "";
    };
    let rest = &spec[digits + letter.len_utf8()..];
    if letter == '%' && digits == 0 {
        out.push('%');
        return rest;
    }
    let width = spec[..digits]
        .parse::<usize>()
        .map_or(MAX_PADDING, |w| w.min(MAX_PADDING));
    let width = if digits == 0 { 0 } else { width };
    let task = ctx.array_task_id.unwrap_or(NO_ARRAY_TASK);
    let number = |out: &mut String, n: u32| {
        // Writing to a String cannot fail.
        let _ = write!(out, "{n:0width$}");
    };
    match letter {
        'j' => number(out, ctx.job_id),
        'J' if ctx.step == "batch" => number(out, ctx.job_id),
        'J' => {
            number(out, ctx.job_id);
            out.push('.');
            out.push_str(&ctx.step);
        }
        'A' => number(out, ctx.array_job_id.unwrap_or(ctx.job_id)),
        'a' => number(out, task),
        'b' => number(out, task % 10),
        'n' => number(out, ctx.node_id),
        't' => number(out, ctx.task_id),
        'x' => out.push_str(&ctx.job_name),
        'u' => out.push_str(&ctx.user),
        'N' => out.push_str(&ctx.node_name),
        's' => out.push_str(&ctx.step),
        _ => {
            out.push('%');
            out.push_str(&spec[..digits + letter.len_utf8()]);
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PatternContext {
        PatternContext {
            job_name: "train".to_owned(),
            user: "alice".to_owned(),
            node_name: "gpu-03".to_owned(),
            ..PatternContext::new(42)
        }
    }

    fn array_ctx() -> PatternContext {
        PatternContext {
            array_job_id: Some(40),
            array_task_id: Some(7),
            ..ctx()
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(default_output_pattern(false), "slurm-%j.out");
        assert_eq!(default_output_pattern(true), "slurm-%A_%a.out");
        assert_eq!(
            expand_output_pattern(default_output_pattern(false), &ctx()),
            "slurm-42.out"
        );
        assert_eq!(
            expand_output_pattern(default_output_pattern(true), &array_ctx()),
            "slurm-40_7.out"
        );
    }

    #[test]
    fn every_specifier() {
        let c = array_ctx();
        let cases = [
            ("%j", "42"),
            ("%x", "train"),
            ("%A", "40"),
            ("%a", "7"),
            ("%b", "7"),
            ("%u", "alice"),
            ("%N", "gpu-03"),
            ("%n", "0"),
            ("%t", "0"),
            ("%s", "batch"),
            ("%J", "42"),
            ("%%", "%"),
            ("100%%-%j", "100%-42"),
            ("%x-%j.%u.log", "train-42.alice.log"),
        ];
        for (pattern, want) in cases {
            assert_eq!(expand_output_pattern(pattern, &c), want, "{pattern}");
        }
    }

    #[test]
    fn padding() {
        let c = array_ctx();
        assert_eq!(expand_output_pattern("job%4j.out", &c), "job0042.out");
        assert_eq!(expand_output_pattern("%2j-%2t", &c), "42-00");
        assert_eq!(expand_output_pattern("%3a", &c), "007");
        assert_eq!(
            expand_output_pattern("%15j", &c),
            "0000000042",
            "capped at 10"
        );
        assert_eq!(
            expand_output_pattern("%99999999999999999999j", &c),
            "0000000042"
        );
        assert_eq!(
            expand_output_pattern("%5x", &c),
            "train",
            "no padding for text"
        );
    }

    #[test]
    fn outside_arrays() {
        let c = ctx();
        assert_eq!(expand_output_pattern("%A", &c), "42");
        assert_eq!(expand_output_pattern("%a", &c), "4294967294");
    }

    #[test]
    fn steps_other_than_batch() {
        let c = PatternContext {
            step: "0".to_owned(),
            ..ctx()
        };
        assert_eq!(expand_output_pattern("%J", &c), "42.0");
    }

    #[test]
    fn unknown_and_trailing_specifiers_are_kept() {
        let c = ctx();
        assert_eq!(expand_output_pattern("a%zb", &c), "a%zb");
        assert_eq!(expand_output_pattern("a%3zb", &c), "a%3zb");
        assert_eq!(expand_output_pattern("end%", &c), "end%");
        assert_eq!(expand_output_pattern("end%12", &c), "end%12");
        assert_eq!(expand_output_pattern("ü%jé", &c), "ü42é");
        assert_eq!(expand_output_pattern("%é", &c), "%é");
    }

    #[test]
    fn backslash_disables_expansion() {
        assert_eq!(expand_output_pattern("out\\%j.txt", &ctx()), "out%j.txt");
    }
}
