//! The client side of the Slurm commands: `sbatch`, `squeue`, `sinfo`, `scancel`,
//! `scontrol`, `sacct`, `sacctmgr`, `sreport`, `sshare` and `sstat`, with Slurm's options, output and
//! error wording.
//!
//! Each command module exposes `main(args) -> ExitCode` (`args[0]` is the program name),
//! which runs the command against the controller named by `SLURM_CONF`. Everything else in a
//! command module is pure and tested without a daemon: argument parsing (argv → a typed
//! request), and reply → text ([`Output`]).
//!
//! Shared pieces:
//! * [`common`]: error wording, `--version`, `main`'s prologue and the `-i SECONDS` loop;
//! * [`getopt`]: GNU `getopt_long` semantics and error wording (`unrecognized option '--x'`);
//! * [`rpc`]: the tokio runtime, the connection to the controller and its errors;
//! * [`lookup`]: the user and group database, and the [`FormatEnv`](crate::format::FormatEnv)
//!   the formatters need;
//! * [`tz`]: the local time zone offset (TZif files and POSIX `TZ` strings);
//! * [`signals`]: signal names (`USR1`, `SIGTERM`, `9`);
//! * [`jobs`]: job id arguments (`123`, `123_4`, `123_[1-3]`) and job selection.

mod acct_columns;
pub mod common;
pub mod getopt;
pub mod jobs;
pub mod lookup;
pub mod rpc;
pub mod sacct;
pub mod sacctmgr;
pub mod salloc;
pub mod sbatch;
pub mod scancel;
pub mod scontrol;
pub mod signals;
pub mod sinfo;
pub mod squeue;
pub mod sreport;
pub mod srun;
pub mod sshare;
pub mod sstat;
pub mod tz;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// What `-V` / `--version` prints: the Slurm release whose commands these follow.
pub const VERSION_LINE: &str = "slurm 22.05.8";

/// What a command prints and how it exits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

impl Output {
    /// Success with `stdout`.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            ..Self::default()
        }
    }

    /// Failure with one or more stderr lines (a newline is added after each).
    pub fn fail(stderr: impl AsRef<str>, code: u8) -> Self {
        let mut out = Self {
            code,
            ..Self::default()
        };
        out.err_line(stderr);
        out
    }

    /// Appends a line to stderr.
    pub fn err_line(&mut self, line: impl AsRef<str>) {
        self.stderr.push_str(line.as_ref());
        self.stderr.push('\n');
    }

    /// Appends a line to stdout.
    pub fn out_line(&mut self, line: impl AsRef<str>) {
        self.stdout.push_str(line.as_ref());
        self.stdout.push('\n');
    }

    /// Appends another output's text; the exit code becomes the larger of the two.
    pub fn append(&mut self, other: Output) {
        self.stdout.push_str(&other.stdout);
        self.stderr.push_str(&other.stderr);
        self.code = self.code.max(other.code);
    }

    /// Writes the text to the process's stdout and stderr and returns the exit code. A
    /// closed stdout (`squeue | head`) is not an error.
    pub fn emit(self) -> ExitCode {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(self.stdout.as_bytes());
        let _ = stdout.flush();
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(self.stderr.as_bytes());
        let _ = stderr.flush();
        ExitCode::from(self.code)
    }
}

/// The arguments after the program name as UTF-8 strings, or the error line naming the first
/// argument that is not.
pub fn utf8_args(prog: &str, args: Vec<OsString>) -> Result<Vec<String>, Output> {
    args.into_iter()
        .enumerate()
        .skip(1)
        .map(|(i, a)| {
            a.into_string().map_err(|bad| {
                Output::fail(
                    format!(
                        "{prog}: error: argument {i} is not valid UTF-8: {}",
                        bad.to_string_lossy()
                    ),
                    1,
                )
            })
        })
        .collect()
}

/// Splits a comma-separated list, dropping empty items (Slurm's `strtok` lists).
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The current time (seconds since the epoch).
pub fn now() -> crate::model::Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The process environment as a map (entries that are not UTF-8 are left out).
pub fn env_map() -> std::collections::BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The outcome of parsing a command line: run with these arguments, or exit with this
/// output (`--help`, `--version`, a bad option).
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    Run(T),
    Exit(Output),
}

/// getopt's complaint as Slurm's commands print it, with the `--help` hint; exit status 1.
pub fn getopt_failure(prog: &str, e: &getopt::GetoptError) -> Output {
    let mut out = Output::fail(format!("{prog}: {e}"), 1);
    out.err_line(format!("Try \"{prog} --help\" for more information"));
    out
}
