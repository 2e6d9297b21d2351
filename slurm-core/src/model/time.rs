use std::fmt;

/// Seconds since the Unix epoch. The engine never reads the system clock; it is handed
/// timestamps by a [`crate::engine::Clock`].
pub type Timestamp = i64;

/// A job or partition time limit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum TimeLimit {
    /// A finite limit in seconds.
    Seconds(u64),
    /// `INFINITE` / `UNLIMITED`.
    #[default]
    Infinite,
}

impl TimeLimit {
    pub fn minutes(m: u64) -> Self {
        Self::Seconds(m * 60)
    }

    /// The limit in seconds, or `None` when infinite.
    pub fn as_secs(self) -> Option<u64> {
        match self {
            Self::Seconds(s) => Some(s),
            Self::Infinite => None,
        }
    }

    /// The limit in seconds with infinity mapped to `cap` (what planners use as a horizon).
    pub fn secs_or(self, cap: u64) -> u64 {
        self.as_secs().unwrap_or(cap)
    }
}

impl fmt::Display for TimeLimit {
    /// Slurm's limit format: `UNLIMITED`, `30:00`, `1:00:00`, `1-00:00:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Infinite => f.write_str("UNLIMITED"),
            Self::Seconds(s) => f.write_str(&crate::parse::duration::format_duration(*s)),
        }
    }
}
