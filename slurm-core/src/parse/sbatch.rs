//! sbatch options and `#SBATCH` directives.
//!
//! The entry points:
//!
//! - [`parse_sbatch`] turns an sbatch command line plus the batch script into an
//!   [`SbatchRequest`] (a [`JobSpec`] and the command-level switches). Options come from three
//!   layers, lowest precedence first, as in sbatch: `#SBATCH` directives, `SBATCH_*`
//!   environment variables, the command line.
//! - [`parse_command_line`] is the first half of that: it parses argv alone, so that the caller
//!   learns the script path (or `--wrap`) before it reads the script, then finishes with
//!   [`CommandLine::into_request`].
//! - [`parse_directives`] extracts `#SBATCH` arguments from a script; [`validate_script`]
//!   applies sbatch's checks on the script text; [`wrap_script`] builds the `--wrap` script.
//! - The value languages: [`parse_dependency`], [`parse_array`], [`parse_begin`].
//! - Output files: [`expand_output_pattern`] and [`default_output_pattern`].
//! - [`render_sbatch_args`] prints a [`JobSpec`] back as sbatch arguments
//!   (`parse(render(spec)) == spec`, property-tested).
//!
//! Everything here is pure: the clock, the time zone and the environment come in through
//! [`SubmitContext`].

mod array;
mod begin;
mod dependency;
mod directives;
mod getopt;
mod pattern;
mod render;
mod request;
mod settings;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use array::{MAX_ARRAY_INDEX, parse_array};
pub use begin::parse_begin;
pub use dependency::parse_dependency;
pub use directives::{parse_directives, validate_script, wrap_script};
pub use getopt::takes_value;
pub use pattern::{PatternContext, default_output_pattern, expand_output_pattern};
pub use render::render_sbatch_args;
pub use request::{CommandLine, SbatchRequest, SubmitContext, parse_command_line, parse_sbatch};

#[cfg(doc)]
use crate::model::JobSpec;
