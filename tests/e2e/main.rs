//! End-to-end: real daemons as processes on loopback, driven by the real commands.
//! Each test builds its own cluster in a temp directory.

#[path = "../support/mod.rs"]
mod support;

mod accounting;
mod auth;
mod batch;
mod clients;
mod failures;
mod limits;
mod power;
mod sstat;
mod steps;
mod tls;
