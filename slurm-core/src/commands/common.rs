//! Pieces several commands share: their error wording, the standard `--version` output, the
//! command-line prologue of `main`, and the `-i SECONDS` loop of `squeue` and `sinfo`.

use super::getopt::Opt;
use super::rpc::{self, RpcError, Session};
use super::{Output, Step, VERSION_LINE};
use crate::format::fields::Printed;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

/// `PROG: error: MESSAGE`, exit status 1.
pub fn error(prog: &str, message: impl std::fmt::Display) -> Output {
    Output::fail(format!("{prog}: error: {message}"), 1)
}

/// [`error`] followed by the usage text on stdout (a stray operand).
pub fn usage_error(prog: &str, message: impl std::fmt::Display, usage: &str) -> Output {
    let mut out = error(prog, message);
    out.stdout.push_str(usage);
    out
}

/// What `-V` / `--version` prints.
pub fn version() -> Output {
    Output::ok(format!("{VERSION_LINE}\n"))
}

/// The refusal of an option slinky accepts but does not implement.
pub fn unsupported<K: Copy + PartialEq>(prog: &str, options: &[Opt<K>], key: K) -> Output {
    let name = options.iter().find(|o| o.key == key).map_or("", |o| o.long);
    error(prog, format!("option --{name} is not supported"))
}

/// `-i SECONDS`: a positive number of seconds.
pub fn iterate_seconds(prog: &str, value: &str) -> Result<u64, Output> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(error(prog, format!("--iterate={value}"))),
    }
}

/// Who `-u` / `--me` (or the command's environment variable) selects; the last one given
/// wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChoice {
    /// `--me`.
    Me,
    /// `-u NAMES`, as given.
    Named(String),
}

/// The parsed command line `main` runs with, or the output to exit with: arguments that are
/// not UTF-8, `--help`, `--version` or a bad option.
pub fn command_line<T>(
    prog: &str,
    args: Vec<OsString>,
    parse: impl FnOnce(&[String]) -> Step<T>,
) -> Result<T, Output> {
    match parse(&super::utf8_args(prog, args)?) {
        Step::Run(a) => Ok(a),
        Step::Exit(out) => Err(out),
    }
}

/// Appends what a formatter printed: its text to stdout, its error lines to stderr.
pub fn append_printed(out: &mut Output, printed: Printed) {
    out.stdout.push_str(&printed.stdout);
    for line in printed.stderr {
        out.err_line(line);
    }
}

/// Runs a query command (`squeue`, `sinfo`): one `query` on a connection to the controller,
/// or with `-i SECONDS` one every so many seconds (each output followed by a blank line),
/// until the process is stopped. `context` is the `slurm_perror` context of a failure.
pub fn run_query<A>(
    prog: &str,
    context: &str,
    iterate: Option<u64>,
    args: &A,
    query: impl AsyncFn(&mut Session, &A) -> Result<Output, RpcError>,
) -> ExitCode {
    let failure = |e: RpcError| Output::fail(e.line(prog, context), 1);
    let run = async {
        let mut session = match Session::connect().await {
            Ok(s) => s,
            Err(e) => return failure(e),
        };
        loop {
            let mut out = query(&mut session, args).await.unwrap_or_else(failure);
            let Some(secs) = iterate else {
                return out;
            };
            out.stdout.push('\n');
            let _ = out.emit();
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
    };
    rpc::block_on(run).unwrap_or_else(failure).emit()
}
