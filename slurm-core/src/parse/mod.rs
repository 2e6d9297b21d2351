//! Parsers for the small languages Slurm users write: hostlists, durations, memory sizes,
//! TRES/GRES strings, `#SBATCH` directives and sbatch options.
//!
//! Every parser reports errors as [`ParseError`] with a 1-based column (and a line where the
//! input has lines), and every parsed value prints back in Slurm's syntax so that
//! `parse(print(x)) == x` (property-tested).

pub mod duration;
pub mod hostlist;
pub mod memory;
pub mod sbatch;
pub mod tres;

use std::fmt;

/// A parse failure: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// 1-based line number, when the input has lines (files, scripts).
    pub line: Option<usize>,
    /// 1-based column (character offset) within the line or string.
    pub column: usize,
    /// What was wrong, e.g. `invalid time limit "1:2:3:4"`.
    pub message: String,
}

impl ParseError {
    pub fn at(column: usize, message: impl Into<String>) -> Self {
        Self {
            line: None,
            column,
            message: message.into(),
        }
    }

    /// Attach a line number (and shift the column by `column_offset`) when a value parsed on
    /// its own turns out to sit inside a larger input.
    pub fn within(mut self, line: usize, column_offset: usize) -> Self {
        self.line = Some(line);
        self.column += column_offset;
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, column {}: {}", self.column, self.message),
            None => write!(f, "column {}: {}", self.column, self.message),
        }
    }
}
