//! Memory sizes as Slurm accepts them: `512` (MiB), `512M`, `1G`, `2T`, `1024K`; `0` means
//! "all of the node's memory" for `--mem`.
//!
//! TODO(helper): implement.

use super::ParseError;

/// Parses a memory size into MiB (Slurm's unit). A bare number is MiB. Suffixes K, M, G, T
/// (case-insensitive, optional trailing `B`); K rounds up to whole MiB.
pub fn parse_mem_mb(s: &str) -> Result<u64, ParseError> {
    let _ = s;
    todo!("memory::parse_mem_mb")
}

/// Formats MiB the way Slurm prints memory in TRES strings: `512M`, `1G`, `1.50G`, `2T`.
pub fn format_mem_mb(mb: u64) -> String {
    let _ = mb;
    todo!("memory::format_mem_mb")
}
