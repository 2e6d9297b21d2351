//! `gres.conf`: which devices back each node's GRES, and applying that to a cluster.
//!
//! Lines are `Key=Value` pairs in slurm.conf syntax: `Name=gpu Type=a100 File=/dev/nvidia[0-7]`,
//! optionally `NodeName=gpu-[001-004]`, `Count=`, `AutoDetect=nvml|off|...`. A line with only
//! `AutoDetect=` (and maybe `NodeName=`) sets detection for all (or those) nodes.
//!
//! Applying to a cluster (Slurm reads gres.conf on each node; slinky checks it centrally):
//! - An entry without `NodeName=` applies to every node whose slurm.conf `Gres=` has that name.
//! - Where gres.conf types an untyped slurm.conf GRES with the same total (`Gres=gpu:2` and two
//!   `Type=tesla` devices), the node's GRES become typed (`gpu:tesla:2`), as slurmctld learns
//!   from slurmd's registration.
//! - Count or type mismatches keep the slurm.conf value, with a warning (Slurm would drain the
//!   node as "gres count too low").
//! - Entries whose count comes from autodetection (no `File=`/`Count=`, detection on) are not
//!   checked.

use std::fmt;
use std::path::Path;

use super::ClusterConfig;
use super::slurm_conf::{
    ConfigError, ConfigWarning, Diagnostics, KeyScope, Location, Pair, read_file, read_statements,
};
use crate::model::Gres;
use crate::parse::hostlist;

/// `AutoDetect=`: how slurmd discovers devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoDetect {
    Nvml,
    Nvidia,
    Rsmi,
    OneApi,
    Nrt,
    Off,
}

const AUTO_DETECT: &[(&str, AutoDetect)] = &[
    ("nvml", AutoDetect::Nvml),
    ("nvidia", AutoDetect::Nvidia),
    ("rsmi", AutoDetect::Rsmi),
    ("oneapi", AutoDetect::OneApi),
    ("nrt", AutoDetect::Nrt),
    ("off", AutoDetect::Off),
];

impl AutoDetect {
    pub fn as_str(self) -> &'static str {
        AUTO_DETECT
            .iter()
            .find(|(_, mode)| *mode == self)
            .map_or("off", |(name, _)| name)
    }

    pub fn is_on(self) -> bool {
        self != Self::Off
    }
}

impl fmt::Display for AutoDetect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One device line of gres.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GresConfEntry {
    pub at: Location,
    /// `NodeName=` expanded; `None` means every node (with this GRES in slurm.conf).
    pub nodes: Option<Vec<String>>,
    pub name: String,
    /// `Type=`.
    pub kind: Option<String>,
    /// `File=` expanded (`/dev/nvidia[0-3]` → four paths).
    pub files: Vec<String>,
    /// `Count=` as given.
    pub count: Option<u64>,
    pub auto_detect: Option<AutoDetect>,
}

impl GresConfEntry {
    /// The device count: `Count=`, else the number of files, else 1 (Slurm's rule).
    pub fn device_count(&self) -> u64 {
        self.count.unwrap_or(match self.files.len() {
            0 => 1,
            n => n as u64,
        })
    }

    /// True when this entry's nodes include `node`, or it names no nodes.
    pub fn applies_to(&self, node: &str) -> bool {
        self.nodes
            .as_ref()
            .is_none_or(|nodes| nodes.iter().any(|n| n == node))
    }
}

/// `NodeName=... AutoDetect=...` without a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAutoDetect {
    pub at: Location,
    pub nodes: Vec<String>,
    pub mode: AutoDetect,
}

/// A parsed gres.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GresConf {
    pub origin: String,
    /// A global `AutoDetect=` line.
    pub auto_detect: Option<AutoDetect>,
    pub node_auto_detect: Vec<NodeAutoDetect>,
    pub entries: Vec<GresConfEntry>,
    /// What parsing warned about (unused keys, count mismatches).
    pub warnings: Vec<ConfigWarning>,
}

impl GresConf {
    /// The detection mode in force for `node` from node-level and global lines.
    pub fn auto_detect_for(&self, node: &str) -> Option<AutoDetect> {
        self.node_auto_detect
            .iter()
            .rev()
            .find(|d| d.nodes.iter().any(|n| n == node))
            .map(|d| d.mode)
            .or(self.auto_detect)
    }
}

/// Reads and parses a gres.conf file.
pub fn load_gres_conf(path: &Path) -> Result<GresConf, ConfigError> {
    parse_gres_conf(&read_file(path)?, &path.display().to_string())
}

/// Parses gres.conf text; `origin` names it in diagnostics.
pub fn parse_gres_conf(text: &str, origin: &str) -> Result<GresConf, ConfigError> {
    let mut conf = GresConf {
        origin: origin.to_owned(),
        auto_detect: None,
        node_auto_detect: Vec::new(),
        entries: Vec::new(),
        warnings: Vec::new(),
    };
    let mut diag = Diagnostics::default();
    for statement in read_statements(text, origin)? {
        let line = GresLine::from_pairs(&statement.pairs, &mut diag)?;
        line.add_to(&mut conf, statement.at, &mut diag)?;
    }
    conf.warnings = diag.warnings;
    Ok(conf)
}

/// The keys of one gres.conf line.
#[derive(Debug, Default)]
struct GresLine {
    nodes: Option<Vec<String>>,
    name: Option<String>,
    kind: Option<String>,
    files: Option<(Vec<String>, Pair)>,
    count: Option<(u64, Pair)>,
    auto_detect: Option<AutoDetect>,
}

type GresSetter = fn(&mut GresLine, &Pair) -> Result<(), ConfigError>;

const GRES_KEYS: &[(&str, GresSetter)] = &[
    ("NodeName", |l, p| {
        l.nodes = Some(hostlist::expand(&p.value).map_err(|e| p.invalid(e.message))?);
        Ok(())
    }),
    ("Name", |l, p| {
        if p.value.is_empty() {
            return Err(p.invalid("must not be empty"));
        }
        l.name = Some(p.value.clone());
        Ok(())
    }),
    ("Type", |l, p| {
        l.kind = Some(p.value.clone()).filter(|t| !t.is_empty());
        Ok(())
    }),
    ("File", |l, p| {
        let files = hostlist::expand(&p.value).map_err(|e| p.invalid(e.message))?;
        l.files = Some((files, p.clone()));
        Ok(())
    }),
    ("Count", |l, p| {
        l.count = Some((count_with_suffix(p)?, p.clone()));
        Ok(())
    }),
    ("AutoDetect", |l, p| {
        l.auto_detect = Some(p.choice(AUTO_DETECT)?);
        Ok(())
    }),
];

const GRES_SCOPE: KeyScope = KeyScope {
    used_prefix: "gres.conf option ",
    kind: "gres.conf option",
    known_unused: "Cores CPUs Flags Links MultipleFiles",
};

/// `Count=` with Slurm's optional K/M/G/T/P suffix (powers of 1024).
fn count_with_suffix(pair: &Pair) -> Result<u64, ConfigError> {
    let value = pair.value.trim();
    let (digits, power) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let power = "KMGTP"
                .find(c.to_ascii_uppercase())
                .ok_or_else(|| pair.invalid("expected a count with optional K, M, G, T or P"))?;
            (&value[..i], power as u32 + 1)
        }
        _ => (value, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|e| pair.invalid(format!("expected a whole number ({e})")))?;
    n.checked_mul(1024u64.pow(power))
        .ok_or_else(|| pair.invalid("count is too large"))
}

impl GresLine {
    fn from_pairs(pairs: &[Pair], diag: &mut Diagnostics) -> Result<Self, ConfigError> {
        let mut line = Self::default();
        for pair in pairs {
            match GRES_KEYS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&pair.key))
            {
                Some((_, set)) => set(&mut line, pair)?,
                None => {
                    let implemented = GRES_KEYS.iter().map(|(name, _)| *name);
                    diag.unused_key(pair, &GRES_SCOPE, implemented);
                }
            }
        }
        Ok(line)
    }

    fn add_to(
        self,
        conf: &mut GresConf,
        at: Location,
        diag: &mut Diagnostics,
    ) -> Result<(), ConfigError> {
        let Some(name) = self.name else {
            return self.add_auto_detect(conf, at);
        };
        let (files, count) = (self.files, self.count);
        match (&files, &count) {
            (Some((files, _)), Some((count, pair))) if files.len() as u64 != *count => {
                let message = format!(
                    "Count={count} but File= names {} device(s); Count= is used",
                    files.len()
                );
                diag.warn(&pair.at, Some(&pair.key), message);
            }
            _ => {}
        }
        conf.entries.push(GresConfEntry {
            at,
            nodes: self.nodes,
            name,
            kind: self.kind,
            files: files.map(|(files, _)| files).unwrap_or_default(),
            count: count.map(|(count, _)| count),
            auto_detect: self.auto_detect,
        });
        Ok(())
    }

    /// A line without `Name=`: only `AutoDetect=` (and `NodeName=`) are allowed.
    fn add_auto_detect(self, conf: &mut GresConf, at: Location) -> Result<(), ConfigError> {
        let has_device = self.kind.is_some() || self.files.is_some() || self.count.is_some();
        let (Some(mode), false) = (self.auto_detect, has_device) else {
            return Err(ConfigError::Syntax {
                at,
                message: "a gres.conf line needs Name= (or only AutoDetect=)".into(),
            });
        };
        match self.nodes {
            Some(nodes) => conf
                .node_auto_detect
                .push(NodeAutoDetect { at, nodes, mode }),
            None => conf.auto_detect = Some(mode),
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Applying to a cluster
// ------------------------------------------------------------------------------------------

/// Applies gres.conf to `cluster`'s nodes (see the module docs) and returns the warnings.
pub fn apply_gres_conf(cluster: &mut ClusterConfig, gres: &GresConf) -> Vec<ConfigWarning> {
    let mut findings = Findings::default();
    check_entries(cluster, gres, &mut findings);
    for node in &mut cluster.nodes {
        apply_to_node(node, gres, &mut findings);
    }
    findings.into_warnings()
}

/// Warnings about individual entries: names missing from GresTypes, unknown nodes.
fn check_entries(cluster: &ClusterConfig, gres: &GresConf, findings: &mut Findings) {
    for entry in &gres.entries {
        if !cluster.gres_types.contains(&entry.name) {
            let message = format!("GRES {} is not listed in slurm.conf GresTypes=", entry.name);
            findings.add(&entry.at, message, None);
        }
        for node in entry.nodes.iter().flatten() {
            if cluster.node(node).is_none() {
                let message = "not defined in slurm.conf (entry ignored for them)".to_owned();
                findings.add(&entry.at, message, Some(node));
            }
        }
    }
}

fn apply_to_node(node: &mut crate::model::NodeConfig, gres: &GresConf, findings: &mut Findings) {
    let entries: Vec<&GresConfEntry> = gres
        .entries
        .iter()
        .filter(|e| e.applies_to(&node.name))
        .filter(|e| e.nodes.is_some() || node.gres.iter().any(|g| g.name == e.name))
        .collect();
    let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let group: Vec<&GresConfEntry> =
            entries.iter().copied().filter(|e| e.name == name).collect();
        let node_mode = gres.auto_detect_for(&node.name);
        let detected = group.iter().any(|e| {
            e.files.is_empty()
                && e.count.is_none()
                && e.auto_detect.or(node_mode).is_some_and(AutoDetect::is_on)
        });
        if detected {
            continue;
        }
        reconcile(node, name, &group, findings);
    }
}

/// Compares a node's slurm.conf GRES `name` with its gres.conf devices.
fn reconcile(
    node: &mut crate::model::NodeConfig,
    name: &str,
    group: &[&GresConfEntry],
    findings: &mut Findings,
) {
    let at = &group[0].at;
    let conf = typed_counts(group);
    let configured: Vec<&Gres> = node.gres.iter().filter(|g| g.name == name).collect();
    if configured.is_empty() {
        let message = format!("{name} is not in the node's slurm.conf Gres= (entry ignored)");
        findings.add(at, message, Some(&node.name));
        return;
    }
    let conf_total: u64 = conf.iter().map(|(_, n)| n).sum();
    let slurm_total: u64 = configured.iter().map(|g| g.count).sum();
    if conf_total != slurm_total {
        let message = format!(
            "gres.conf has {conf_total} {name} but slurm.conf Gres= has {slurm_total} \
             (slurm.conf value kept)"
        );
        findings.add(at, message, Some(&node.name));
        return;
    }
    let slurm_typed = configured.iter().any(|g| g.kind.is_some());
    let conf_typed = conf.iter().any(|(kind, _)| kind.is_some());
    if !slurm_typed && conf_typed {
        let typed = conf
            .into_iter()
            .map(|(kind, count)| Gres::new(name, kind.as_deref(), count));
        // The typed entries take the place of the first untyped one.
        let mut typed = Some(typed.collect::<Vec<_>>());
        node.gres = std::mem::take(&mut node.gres)
            .into_iter()
            .flat_map(|g| {
                if g.name == name {
                    typed.take().unwrap_or_default()
                } else {
                    vec![g]
                }
            })
            .collect();
    } else if slurm_typed && conf_typed && !same_types(&configured, &conf) {
        let message = format!(
            "gres.conf types of {name} ({}) differ from slurm.conf Gres= ({}) (slurm.conf \
             value kept)",
            describe(conf.iter().map(|(k, n)| (k.as_deref(), *n))),
            describe(configured.iter().map(|g| (g.kind.as_deref(), g.count)))
        );
        findings.add(at, message, Some(&node.name));
    }
}

/// Device counts per type, in first-seen order.
fn typed_counts(group: &[&GresConfEntry]) -> Vec<(Option<String>, u64)> {
    let mut counts: Vec<(Option<String>, u64)> = Vec::new();
    for entry in group {
        match counts.iter_mut().find(|(kind, _)| *kind == entry.kind) {
            Some((_, n)) => *n += entry.device_count(),
            None => counts.push((entry.kind.clone(), entry.device_count())),
        }
    }
    counts
}

fn same_types(configured: &[&Gres], conf: &[(Option<String>, u64)]) -> bool {
    let mut a: Vec<(Option<&str>, u64)> = configured
        .iter()
        .map(|g| (g.kind.as_deref(), g.count))
        .collect();
    let mut b: Vec<(Option<&str>, u64)> = conf.iter().map(|(k, n)| (k.as_deref(), *n)).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

fn describe<'a>(counts: impl Iterator<Item = (Option<&'a str>, u64)>) -> String {
    let parts: Vec<String> = counts
        .map(|(kind, n)| format!("{}:{n}", kind.unwrap_or("(untyped)")))
        .collect();
    parts.join(",")
}

/// Warnings collected per (entry, message), with the nodes they concern folded into one
/// hostlist so a 100-node mismatch is one line.
#[derive(Default)]
struct Findings(Vec<(Location, String, Vec<String>)>);

impl Findings {
    fn add(&mut self, at: &Location, message: String, node: Option<&str>) {
        let index = match self.0.iter().position(|(a, m, _)| a == at && *m == message) {
            Some(index) => index,
            None => {
                self.0.push((at.clone(), message, Vec::new()));
                self.0.len() - 1
            }
        };
        if let Some(node) = node {
            self.0[index].2.push(node.to_owned());
        }
    }

    fn into_warnings(self) -> Vec<ConfigWarning> {
        self.0
            .into_iter()
            .map(|(at, message, nodes)| {
                let message = if nodes.is_empty() {
                    message
                } else {
                    format!("node {}: {message}", hostlist::compress(&nodes))
                };
                ConfigWarning {
                    at,
                    key: None,
                    message,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NodeConfig;

    const SEED_GRES: &str = include_str!("../../../examples/configs/seed-gres.conf");

    fn messages(warnings: &[ConfigWarning]) -> Vec<String> {
        warnings.iter().map(ToString::to_string).collect()
    }

    fn cluster(nodes: &[(&str, &str)]) -> ClusterConfig {
        let mut cluster = ClusterConfig::new("c");
        cluster.gres_types = vec!["gpu".into()];
        for (name, gres) in nodes {
            let mut node = NodeConfig::simple(*name, 8, 1000);
            if !gres.is_empty() {
                node.gres = crate::parse::tres::parse_gres_list(gres).unwrap();
            }
            cluster.nodes.push(node);
        }
        cluster
    }

    #[test]
    fn parses_the_seed_gres_conf() {
        let conf = parse_gres_conf(SEED_GRES, "gres.conf").unwrap();
        assert_eq!(conf.auto_detect, None);
        let files: Vec<&[String]> = conf.entries.iter().map(|e| &e.files[..]).collect();
        assert_eq!(files, [["/dev/nvidia0"], ["/dev/nvidia1"]]);
        for entry in &conf.entries {
            assert_eq!(entry.name, "gpu");
            assert_eq!(entry.kind.as_deref(), Some("tesla"));
            assert_eq!((entry.nodes.as_ref(), entry.device_count()), (None, 1));
        }
        assert_eq!(conf.entries[1].at, Location::new("gres.conf", 3));
        assert!(conf.warnings.is_empty());
    }

    #[test]
    fn parses_ranges_counts_nodes_and_autodetect() {
        let text = "AutoDetect=nvml\n\
                    NodeName=gpu-[001-004] AutoDetect=off\n\
                    NodeName=gpu-[001-004] Name=gpu Type=a100 File=/dev/nvidia[0-3] Cores=0-15\n\
                    NodeName=gpu-001 Name=mps Count=2K\n\
                    Name=gpu Type=h100\n";
        let conf = parse_gres_conf(text, "gres.conf").unwrap();
        assert_eq!(conf.auto_detect, Some(AutoDetect::Nvml));
        assert_eq!(conf.auto_detect_for("gpu-002"), Some(AutoDetect::Off));
        assert_eq!(conf.auto_detect_for("other"), Some(AutoDetect::Nvml));
        let a100 = &conf.entries[0];
        assert_eq!(a100.nodes.as_ref().map(Vec::len), Some(4));
        assert_eq!(a100.files.len(), 4);
        assert_eq!(a100.files[3], "/dev/nvidia3");
        assert_eq!(a100.device_count(), 4);
        assert_eq!(conf.entries[1].device_count(), 2048);
        assert_eq!(
            (conf.entries[2].count, conf.entries[2].device_count()),
            (None, 1)
        );
        assert_eq!(
            messages(&conf.warnings),
            ["gres.conf:3: gres.conf option Cores is not used by slinky (ignored)"]
        );
    }

    #[test]
    fn count_and_file_disagreeing_warns() {
        let conf = parse_gres_conf("Name=gpu File=/dev/nvidia[0-1] Count=3\n", "g").unwrap();
        assert_eq!(conf.entries[0].device_count(), 3);
        assert_eq!(
            messages(&conf.warnings),
            ["g:1: Count=3 but File= names 2 device(s); Count= is used"]
        );
    }

    #[test]
    fn errors_carry_lines() {
        let err = parse_gres_conf("Name=gpu\nType=a100 File=/dev/nvidia0\n", "g").unwrap_err();
        assert_eq!(
            err.to_string(),
            "g:2: a gres.conf line needs Name= (or only AutoDetect=)"
        );
        let err = parse_gres_conf("\nName=gpu Count=lots\n", "g").unwrap_err();
        assert_eq!((err.line(), err.key()), (Some(2), Some("Count")));
        let err = parse_gres_conf("AutoDetect=magic\n", "g").unwrap_err();
        assert_eq!(err.key(), Some("AutoDetect"));
    }

    #[test]
    fn typing_untyped_slurm_conf_gres() {
        let mut c = cluster(&[("n1", "gpu:2"), ("n2", "gpu:2"), ("login", "")]);
        let conf = parse_gres_conf(
            "Name=gpu Type=tesla File=/dev/nvidia0\nName=gpu Type=tesla File=/dev/nvidia1\n",
            "g",
        )
        .unwrap();
        let warnings = apply_gres_conf(&mut c, &conf);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.nodes[0].gres, [Gres::new("gpu", Some("tesla"), 2)]);
        assert_eq!(c.nodes[1].gres, [Gres::new("gpu", Some("tesla"), 2)]);
        assert!(c.nodes[2].gres.is_empty());
    }

    #[test]
    fn mixed_types_keep_their_place_among_other_gres() {
        let mut c = cluster(&[("n1", "shard:4,gpu:3,mps:100")]);
        let conf = parse_gres_conf(
            "Name=gpu Type=a File=/dev/nvidia[0-1]\nName=gpu Type=b File=/dev/nvidia2\n",
            "g",
        )
        .unwrap();
        apply_gres_conf(&mut c, &conf);
        let gres: Vec<String> = c.nodes[0].gres.iter().map(ToString::to_string).collect();
        assert_eq!(gres, ["shard:4", "gpu:a:2", "gpu:b:1", "mps:100"]);
    }

    #[test]
    fn mismatches_keep_slurm_conf_and_warn_once_per_entry() {
        let mut c = cluster(&[
            ("g1", "gpu:a100:8"),
            ("g2", "gpu:a100:8"),
            ("g3", "gpu:a100:8"),
            ("h1", "gpu:h100:4"),
        ]);
        let text = "NodeName=g[1-3] Name=gpu Type=a100 File=/dev/nvidia[0-3]\n\
                    NodeName=h1 Name=gpu Type=a100 Count=4\n\
                    NodeName=x[1-2] Name=gpu Count=1\n\
                    NodeName=g1 Name=mps Count=100\n";
        let conf = parse_gres_conf(text, "g").unwrap();
        let warnings = apply_gres_conf(&mut c, &conf);
        assert_eq!(c.nodes[0].gres, [Gres::new("gpu", Some("a100"), 8)]);
        assert_eq!(c.nodes[3].gres, [Gres::new("gpu", Some("h100"), 4)]);
        assert_eq!(
            messages(&warnings),
            [
                "g:3: node x[1-2]: not defined in slurm.conf (entry ignored for them)",
                "g:4: GRES mps is not listed in slurm.conf GresTypes=",
                "g:1: node g[1-3]: gres.conf has 4 gpu but slurm.conf Gres= has 8 (slurm.conf \
                 value kept)",
                "g:4: node g1: mps is not in the node's slurm.conf Gres= (entry ignored)",
                "g:2: node h1: gres.conf types of gpu (a100:4) differ from slurm.conf Gres= \
                 (h100:4) (slurm.conf value kept)",
            ]
        );
    }

    #[test]
    fn autodetected_counts_are_not_checked() {
        let mut c = cluster(&[("n1", "gpu:8")]);
        let conf = parse_gres_conf("AutoDetect=nvml\nName=gpu Type=a100\n", "g").unwrap();
        assert!(apply_gres_conf(&mut c, &conf).is_empty());
        assert_eq!(c.nodes[0].gres, [Gres::new("gpu", None, 8)]);
        // Without detection the same line means one device.
        let conf = parse_gres_conf("Name=gpu Type=a100\n", "g").unwrap();
        assert_eq!(apply_gres_conf(&mut c, &conf).len(), 1);
    }
}
