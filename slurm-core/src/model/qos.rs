//! Quality of service definitions (the engine uses priority and per-job wall limits; the
//! accounting issue adds the rest of the limits).

use super::TimeLimit;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Qos {
    pub name: String,
    /// `Priority=` of the QOS; normalised against the largest QOS priority.
    pub priority: u32,
    /// `MaxWall=`: jobs over it pend with `QOSMaxWallDurationPerJobLimit`.
    pub max_wall: Option<TimeLimit>,
}

impl Qos {
    pub fn normal() -> Self {
        Self {
            name: "normal".into(),
            priority: 0,
            max_wall: None,
        }
    }
}
