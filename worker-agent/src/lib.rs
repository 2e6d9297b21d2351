//! The worker agent (slurmd + slurmstepd roles).
//!
//! Not implemented yet: the batch runtime issue builds node registration, step launch and
//! usage reporting here. The crate exists so the workspace has the client's layout.
