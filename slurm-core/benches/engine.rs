//! Engine benchmarks (figures printed, not asserted). TODO.
fn main() {}
