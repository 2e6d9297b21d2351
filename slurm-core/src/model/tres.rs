use std::fmt;

/// One generic resource: `gpu`, `gpu:a100:2`. A count of 1 is implied when omitted.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Gres {
    /// The GRES name, e.g. `gpu`, `shard`, `mps`.
    pub name: String,
    /// The optional type, e.g. `a100`, `tesla`.
    pub kind: Option<String>,
    pub count: u64,
}

impl Gres {
    pub fn new(name: impl Into<String>, kind: Option<&str>, count: u64) -> Self {
        Self {
            name: name.into(),
            kind: kind.map(str::to_owned),
            count,
        }
    }

    /// True when a request for `self` (possibly untyped) can be served by `offer`.
    pub fn matches(&self, offer: &Gres) -> bool {
        self.name == offer.name && (self.kind.is_none() || self.kind == offer.kind)
    }
}

impl fmt::Display for Gres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(kind) = &self.kind {
            write!(f, ":{kind}")?;
        }
        write!(f, ":{}", self.count)
    }
}

/// A trackable resource type, as named in TRES strings.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum TresKind {
    Cpu,
    /// Memory, counted in MiB.
    Mem,
    Energy,
    Node,
    Billing,
    /// `gres/NAME` or `gres/NAME:TYPE`.
    Gres {
        name: String,
        kind: Option<String>,
    },
    /// Anything else Slurm knows (`fs/disk`, `license/x`, ...), kept verbatim.
    Other(String),
}

impl fmt::Display for TresKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Mem => f.write_str("mem"),
            Self::Energy => f.write_str("energy"),
            Self::Node => f.write_str("node"),
            Self::Billing => f.write_str("billing"),
            Self::Gres { name, kind: None } => write!(f, "gres/{name}"),
            Self::Gres {
                name,
                kind: Some(kind),
            } => write!(f, "gres/{name}:{kind}"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// A TRES list such as `cpu=10,mem=20G,node=1,billing=10,gres/gpu=2`, in insertion order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TresList(pub Vec<(TresKind, u64)>);

impl TresList {
    pub fn get(&self, kind: &TresKind) -> Option<u64> {
        self.0.iter().find(|(k, _)| k == kind).map(|(_, v)| *v)
    }

    /// Sets a value, replacing an existing entry of the same kind.
    pub fn set(&mut self, kind: TresKind, value: u64) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some(entry) => entry.1 = value,
            None => self.0.push((kind, value)),
        }
    }
}

impl fmt::Display for TresList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::parse::tres::format_tres(self))
    }
}
