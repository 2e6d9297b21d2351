//! Slurm durations: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`,
//! `INFINITE`/`UNLIMITED` (as used by `--time`, `MaxTime=`, `DefaultTime=`, `--begin` offsets).
//!
//! TODO(helper): implement `parse_time_limit` and `format_duration`.

use super::ParseError;
use crate::model::TimeLimit;

/// Parses a Slurm time specification into a [`TimeLimit`].
pub fn parse_time_limit(s: &str) -> Result<TimeLimit, ParseError> {
    let _ = s;
    todo!("duration::parse_time_limit")
}

/// Formats seconds as Slurm prints elapsed times and limits: `M:SS` under an hour,
/// `H:MM:SS` under a day, `D-HH:MM:SS` beyond (squeue's TIME column style).
pub fn format_duration(seconds: u64) -> String {
    let _ = seconds;
    todo!("duration::format_duration")
}
