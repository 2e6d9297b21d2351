//! slurm-core: the Slurm-compatible model, parsers, scheduling engine and trace simulator.
//!
//! Architecture invariant: nothing under [`engine`] does I/O or reads the system clock; time
//! comes in through [`engine::Clock`], so the same engine runs live and in simulation.

pub mod auth;
pub mod client;
pub mod commands;
pub mod config;
pub mod controller;
pub mod dbd;
pub mod engine;
pub mod format;
pub mod model;
pub mod parse;
pub mod proto;
pub mod sim;
pub mod tls;
