//! `slinky`: the command-line entry point.

fn main() -> anyhow::Result<()> {
    Ok(())
}
