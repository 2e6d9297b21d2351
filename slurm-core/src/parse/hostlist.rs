//! Slurm hostlists: `node[01-02,05]`, `gpu-[0-15]`, `a[1-2]b[3-4]`, `n1,n2`.
//!
//! TODO(helper): implement. Contract:
//! - `expand("node[01-02,05]") == ["node01","node02","node05"]`; zero padding is kept;
//!   several bracket groups in one name expand as a cartesian product; commas outside
//!   brackets separate names; whitespace is not allowed inside a hostlist.
//! - `compress(&names)` produces Slurm's compact form (`node[01-02,05]`), grouping names that
//!   share a prefix/suffix and a numeric width, keeping first-seen order of groups and sorting
//!   numbers within a group, like `scontrol show hostlist`.
//! - `expand(&compress(names)) == names` whenever names are unique and sorted by `compress`'s
//!   ordering (property test).

use super::ParseError;

/// Expands a hostlist expression into host names, in order.
pub fn expand(expr: &str) -> Result<Vec<String>, ParseError> {
    let _ = expr;
    todo!("hostlist::expand")
}

/// Compresses host names into a hostlist expression.
pub fn compress<S: AsRef<str>>(names: &[S]) -> String {
    let _ = names;
    todo!("hostlist::compress")
}
