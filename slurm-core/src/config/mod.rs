//! `slurm.conf` and `gres.conf`: loading, validation and the `slinky conf check` report.
//!
//! TODO(helper): implement.
