//! The scheduling engine. Synchronous and deterministic: same inputs, same decisions.
//!
//! Architecture invariant: no I/O, no system clock, no threads, no randomness.

mod clock;

pub use clock::{Clock, ManualClock, SystemClock};
