//! The Slurm data model: jobs, nodes, partitions, QOS and trackable resources.
//!
//! Every state and reason is an enum that displays exactly as Slurm prints it.

pub mod calendar;
mod job;
mod node;
mod partition;
mod qos;
mod state;
mod time;
mod tres;

pub use job::*;
pub use node::*;
pub use partition::*;
pub use qos::*;
pub use state::*;
pub use time::*;
pub use tres::*;
