//! Signal names as Slurm's commands accept them (`sig_name2num`): `USR1`, `SIGUSR1`, `usr1`
//! or a number (`10`).

use nix::sys::signal::Signal;
use std::str::FromStr;

/// The highest signal number accepted as a number (Linux's `SIGRTMAX`).
pub const MAX_SIGNAL: i32 = 64;

/// The signal number for a name or number; `None` when it is neither (or is 0).
pub fn parse_signal(s: &str) -> Option<i32> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().filter(|n| (1..=MAX_SIGNAL).contains(n));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).ok().map(|sig| sig as i32)
}

/// `SIGKILL`: what `scancel` sends when no `-s` is given.
pub const SIGKILL: i32 = Signal::SIGKILL as i32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_signal("USR1"), Some(10));
        assert_eq!(parse_signal("SIGUSR1"), Some(10));
        assert_eq!(parse_signal("usr1"), Some(10));
        assert_eq!(parse_signal("sigterm"), Some(15));
        assert_eq!(parse_signal("KILL"), Some(9));
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("40"), Some(40));
        for bad in ["", "0", "65", "FOO", "SIG", "-9", "9x", "99999999999999"] {
            assert_eq!(parse_signal(bad), None, "{bad}");
        }
        assert_eq!(SIGKILL, 9);
    }
}
