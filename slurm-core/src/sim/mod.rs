//! `slinky sim`: replays SWF workload traces through the real engine.
//!
//! TODO(helper): implement.
