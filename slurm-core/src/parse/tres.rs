//! GRES and TRES strings: `gpu:8`, `gpu:a100:2`, `gpu:a100:2,shard:4` (GRES, as in `--gres`
//! and `Gres=` in slurm.conf) and `cpu=10,mem=20G,node=1,billing=10,gres/gpu=2,gres/gpu:a100=2`
//! (TRES, as in AllocTRES, GrpTRES and `--tres-per-*`).
//!
//! TODO(helper): implement.

use super::ParseError;
use crate::model::{Gres, TresList};

/// Parses a comma-separated GRES list (`gpu:8`, `gpu:a100:2`, `gpu` meaning count 1).
pub fn parse_gres_list(s: &str) -> Result<Vec<Gres>, ParseError> {
    let _ = s;
    todo!("tres::parse_gres_list")
}

/// Prints a GRES list in `--gres` syntax.
pub fn format_gres_list(gres: &[Gres]) -> String {
    let _ = gres;
    todo!("tres::format_gres_list")
}

/// Parses a TRES string (`cpu=10,mem=20G,gres/gpu=2`).
pub fn parse_tres(s: &str) -> Result<TresList, ParseError> {
    let _ = s;
    todo!("tres::parse_tres")
}

/// Prints a TRES list in Slurm's order and syntax.
pub fn format_tres(tres: &TresList) -> String {
    let _ = tres;
    todo!("tres::format_tres")
}
