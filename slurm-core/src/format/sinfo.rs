//! `sinfo`: partition summaries, `-s`, `-N`, `-l`, `-R` and `-o` / `-O` formats.
//!
//! As Slurm does, nodes are grouped into rows: one row per partition and per distinct value
//! of every grouping field the format shows (state, features, GRES, weight, reason...). CPU
//! counts, memory and disk do not split rows unless `exact` (`-e`) is set; a row whose nodes
//! differ prints the minimum followed by `+` (`64+`). With `-N` every node is its own row
//! (once per partition when the format shows partition fields). Rows come in partition
//! order, then by state (Slurm's `#P,-t`), or by node name with `-N`.
//!
//! The default formats are the ones Slurm 22.05 builds internally (with `-O`-style field
//! lists): their partition and node-list columns widen to the longest value (at least 9),
//! which a user-given format never does.

use super::fields::{self, Column, FieldDef, FieldTable, Layout, Parsed};
use super::{FormatEnv, NodeExtras, oversubscribe_text, timefmt};
use crate::engine::NodeView;
use crate::model::{
    AccessList, NodeBaseState, NodeState, PartitionConfig, PartitionState, TimeLimit,
};
use crate::parse::{hostlist, tres};
use std::cmp::Ordering;

/// `sinfo`.
pub const DEFAULT_FORMAT: &str =
    "partition:9 ,available:.5 ,time:.10 ,nodes:.6 ,statecompact:.6 ,nodelist:0";
/// `sinfo -l`.
pub const LONG_FORMAT: &str = "partition:9 ,available:.5 ,time:.10 ,size:.10 ,root:.4 ,\
     oversubscribe:.8 ,groups:.10 ,nodes:.6 ,statelong:.11 ,reservation:.11 ,nodelist:0";
/// `sinfo -s`.
pub const SUMMARIZE_FORMAT: &str = "partition:9 ,available:.5 ,time:.10 ,nodeaiot:.16 ,nodelist:0";
/// `sinfo -N`.
pub const NODE_FORMAT: &str = "nodelist:0 ,nodes:.6 ,partition:.9 ,statecompact:6";
/// `sinfo -N -l`.
pub const NODE_LONG_FORMAT: &str = "nodelist:0 ,nodes:.6 ,partition:.9 ,statelong:.11 ,cpus:4 ,\
     socketcorethread:.8 ,memory:.6 ,disk:.8 ,weight:.6 ,features:.8 ,reason:20";
/// `sinfo -R`.
pub const REASONS_FORMAT: &str = "reason:20 ,user:9 ,timestamp:19 ,nodelist:0";
/// `sinfo -R -l`.
pub const REASONS_LONG_FORMAT: &str =
    "reason:20 ,userlong:12 ,timestamp:19 ,statecompact:6 ,nodelist:0";

/// Minimum width of the widening partition and node-list columns.
const MIN_FIELD_WIDTH: usize = 9;

/// A column sinfo can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeField {
    AllocMem,
    AllocNodes,
    Avail,
    Cores,
    CpuLoad,
    Cpus,
    CpusState,
    DefaultTime,
    Disk,
    Features,
    FeaturesAct,
    FreeMem,
    Gres,
    GresUsed,
    Groups,
    Hostnames,
    MaxCpusPerNode,
    Memory,
    NodeAddr,
    NodeList,
    Nodes,
    NodesAi,
    NodesAiot,
    OverSubscribe,
    Partition,
    PartitionName,
    PreemptMode,
    PriorityJobFactor,
    PriorityTier,
    Reason,
    Reservation,
    Root,
    Sct,
    Size,
    Sockets,
    StateCompact,
    StateLong,
    Threads,
    Time,
    Timestamp,
    User,
    UserLong,
    Version,
    Weight,
}

const FIELDS: &[FieldDef<NodeField>] = {
    use NodeField as F;
    &[
        (F::Avail, Some('a'), &["available"], "AVAIL", true),
        (F::NodesAi, Some('A'), &["nodeai"], "NODES(A/I)", true),
        (
            F::FeaturesAct,
            Some('b'),
            &["features_act"],
            "ACTIVE_FEATURES",
            true,
        ),
        (
            F::MaxCpusPerNode,
            Some('B'),
            &["maxcpuspernode"],
            "MAX_CPUS_PER_NODE",
            true,
        ),
        (F::Cpus, Some('c'), &["cpus"], "CPUS", true),
        (
            F::CpusState,
            Some('C'),
            &["cpusstate"],
            "CPUS(A/I/O/T)",
            true,
        ),
        (F::Disk, Some('d'), &["disk"], "TMP_DISK", true),
        (F::Nodes, Some('D'), &["nodes"], "NODES", true),
        (F::FreeMem, Some('e'), &["freemem"], "FREE_MEM", true),
        (F::Reason, Some('E'), &["reason"], "REASON", true),
        (
            F::Features,
            Some('f'),
            &["features"],
            "AVAIL_FEATURES",
            true,
        ),
        (
            F::NodesAiot,
            Some('F'),
            &["nodeaiot"],
            "NODES(A/I/O/T)",
            true,
        ),
        (F::Groups, Some('g'), &["groups"], "GROUPS", true),
        (F::Gres, Some('G'), &["gres"], "GRES", true),
        (
            F::OverSubscribe,
            Some('h'),
            &["oversubscribe", "share"],
            "OVERSUBSCRIBE",
            true,
        ),
        (F::Timestamp, Some('H'), &["timestamp"], "TIMESTAMP", true),
        (
            F::Reservation,
            Some('i'),
            &["reservation"],
            "RESERVATION",
            true,
        ),
        (
            F::PriorityJobFactor,
            Some('I'),
            &["priorityjobfactor"],
            "PRIO_JOB_FACTOR",
            true,
        ),
        (F::Time, Some('l'), &["time"], "TIMELIMIT", true),
        (
            F::DefaultTime,
            Some('L'),
            &["defaulttime"],
            "DEFAULTTIME",
            true,
        ),
        (F::Memory, Some('m'), &["memory"], "MEMORY", true),
        (
            F::PreemptMode,
            Some('M'),
            &["preemptmode"],
            "PREEMPT_MODE",
            true,
        ),
        (F::Hostnames, Some('n'), &["nodehost"], "HOSTNAMES", false),
        (F::NodeList, Some('N'), &["nodelist"], "NODELIST", false),
        (F::NodeAddr, Some('o'), &["nodeaddr"], "NODE_ADDR", false),
        (F::CpuLoad, Some('O'), &["cpusload"], "CPU_LOAD", true),
        (
            F::PriorityTier,
            Some('p'),
            &["prioritytier"],
            "PRIO_TIER",
            true,
        ),
        (F::Partition, Some('P'), &["partition"], "PARTITION", true),
        (F::Root, Some('r'), &["root"], "ROOT", true),
        (
            F::PartitionName,
            Some('R'),
            &["partitionname"],
            "PARTITION",
            true,
        ),
        (F::Size, Some('s'), &["size"], "JOB_SIZE", true),
        (
            F::AllocNodes,
            Some('S'),
            &["allocnodes"],
            "ALLOCNODES",
            true,
        ),
        (F::StateCompact, Some('t'), &["statecompact"], "STATE", true),
        (F::StateLong, Some('T'), &["statelong"], "STATE", true),
        (F::User, Some('u'), &["user"], "USER", true),
        (F::UserLong, Some('U'), &["userlong"], "USER", true),
        (F::Version, Some('v'), &["version"], "VERSION", true),
        (F::Weight, Some('w'), &["weight"], "WEIGHT", true),
        (F::Sockets, Some('X'), &["sockets"], "SOCKETS", true),
        (F::Cores, Some('Y'), &["cores"], "CORES", true),
        (F::Threads, Some('Z'), &["threads"], "THREADS", true),
        (F::Sct, Some('z'), &["socketcorethread"], "S:C:T", true),
        (F::AllocMem, None, &["allocmem"], "ALLOCMEM", true),
        (F::GresUsed, None, &["gresused"], "GRES_USED", true),
    ]
};

impl FieldTable for NodeField {
    const FIELDS: &'static [FieldDef<Self>] = FIELDS;
}

impl NodeField {
    /// Fields about the partition rather than the nodes: showing one splits rows by partition.
    fn is_partition_field(self) -> bool {
        use NodeField as F;
        matches!(
            self,
            F::Avail
                | F::AllocNodes
                | F::DefaultTime
                | F::Groups
                | F::MaxCpusPerNode
                | F::OverSubscribe
                | F::Partition
                | F::PartitionName
                | F::PreemptMode
                | F::PriorityJobFactor
                | F::PriorityTier
                | F::Root
                | F::Size
                | F::Time
        )
    }
}

/// Parses a `-o` format (`%P %.5a %N`). Errors are sinfo's stderr lines (printed without the
/// usual `sinfo: error:` prefix, as sinfo does for this one).
pub fn parse_format(format: &str) -> Parsed<NodeField> {
    fields::parse_percent(format, "node", NodeField::from_code)
}

/// Parses a `-O` field list (`partition:9 ,nodelist:0`). Errors are sinfo's stderr lines;
/// sinfo really calls an unknown `-O` field a "job format specification".
pub fn parse_format_long(format: &str) -> Parsed<NodeField> {
    fields::parse_long(format, "job", NodeField::from_name).prefixed("sinfo: error: ")
}

/// A user-given format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `-o`.
    Percent(String),
    /// `-O`.
    Fields(String),
}

/// sinfo's options that shape its output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// `-N`: one row per node.
    pub node_oriented: bool,
    /// `-l`: long layouts, preceded by a date line.
    pub long: bool,
    /// `-s`: `NODES(A/I/O/T)` summaries.
    pub summarize: bool,
    /// `-R`: reasons of down, drained and failing nodes (other nodes are left out).
    pub list_reasons: bool,
    /// `-e`: only group nodes with identical CPU counts, memory and disk.
    pub exact: bool,
    /// `-h`.
    pub no_header: bool,
    /// `-o` / `-O` (replaces the layout chosen by `-s`, `-N`, `-l`, `-R`).
    pub format: Option<Format>,
}

/// What sinfo prints: the table, and error lines for its stderr.
pub use super::fields::Printed as Output;

/// Runs sinfo's printing. `partitions` in configuration order, `nodes` in node order.
pub fn sinfo(
    partitions: &[PartitionConfig],
    nodes: &[NodeView],
    options: &Options,
    env: &FormatEnv,
) -> Output {
    let (parsed, widen) = layout_for(options);
    let view = Sinfo {
        layout: &parsed.layout,
        env,
        node_oriented: options.node_oriented,
        exact: options.exact,
    };
    let shown: Vec<&NodeView> = nodes
        .iter()
        .filter(|n| !options.list_reasons || is_down_or_drained(&n.state))
        .collect();
    let rows = view.rows(partitions, &shown);
    let mut stdout = String::new();
    if options.long && !options.no_header {
        stdout.push_str(&env.date_line());
        stdout.push('\n');
    }
    stdout.push_str(&view.render(&rows, widen, !options.no_header));
    Output {
        stdout,
        stderr: parsed.errors,
    }
}

/// Which columns of a default layout widen to their longest value (Slurm's
/// `part_field_flag` / `node_field_flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Widen {
    partition: bool,
    node_list: bool,
}

/// The layout for the options, and which of its columns widen.
fn layout_for(options: &Options) -> (Parsed<NodeField>, Widen) {
    let parts = Widen {
        partition: true,
        node_list: false,
    };
    let (format, widen) = match &options.format {
        Some(Format::Percent(f)) => return (parse_format(f), Widen::default()),
        Some(Format::Fields(f)) => return (parse_format_long(f), Widen::default()),
        None if options.summarize => (SUMMARIZE_FORMAT, parts),
        None if options.node_oriented => {
            let format = if options.long {
                NODE_LONG_FORMAT
            } else {
                NODE_FORMAT
            };
            let both = Widen {
                partition: true,
                node_list: true,
            };
            (format, both)
        }
        None if options.list_reasons => {
            let format = if options.long {
                REASONS_LONG_FORMAT
            } else {
                REASONS_FORMAT
            };
            (format, Widen::default())
        }
        None => (
            if options.long {
                LONG_FORMAT
            } else {
                DEFAULT_FORMAT
            },
            parts,
        ),
    };
    (parse_format_long(format), widen)
}

/// `-R`'s default state filter: down, drained/draining or failing nodes.
fn is_down_or_drained(state: &NodeState) -> bool {
    state.flags.drain || state.base == NodeBaseState::Down
}

/// One output row: a partition (when the format shows one) and its nodes.
#[derive(Debug, Clone)]
struct Row<'a> {
    /// Position of the partition in configuration order (sorting key).
    part_pos: usize,
    partition: Option<&'a PartitionConfig>,
    nodes: Vec<&'a NodeView>,
}

struct Sinfo<'a> {
    layout: &'a Layout<NodeField>,
    env: &'a FormatEnv,
    node_oriented: bool,
    exact: bool,
}

impl<'a> Sinfo<'a> {
    fn shows(&self, pred: impl Fn(NodeField) -> bool) -> bool {
        self.layout.columns().any(|c| pred(c.field))
    }

    /// Groups nodes into rows and sorts them the way sinfo does.
    fn rows(&self, partitions: &'a [PartitionConfig], nodes: &[&'a NodeView]) -> Vec<Row<'a>> {
        let mut rows = Vec::new();
        if self.shows(NodeField::is_partition_field) {
            for (pos, part) in partitions.iter().enumerate() {
                let members: Vec<&NodeView> = nodes
                    .iter()
                    .copied()
                    .filter(|n| part.nodes.contains(&n.config.name))
                    .collect();
                let start = rows.len();
                self.group_into(&mut rows, pos, Some(part), &members);
                if rows.len() == start && !self.node_oriented {
                    rows.push(Row {
                        part_pos: pos,
                        partition: Some(part),
                        nodes: Vec::new(),
                    });
                }
            }
        } else {
            self.group_into(&mut rows, 0, None, nodes);
        }
        self.sort(&mut rows);
        rows
    }

    fn group_into(
        &self,
        rows: &mut Vec<Row<'a>>,
        part_pos: usize,
        part: Option<&'a PartitionConfig>,
        nodes: &[&'a NodeView],
    ) {
        let first = rows.len();
        for &node in nodes {
            let key = self.key(node);
            let existing = rows[first..].iter_mut().find(|r| {
                !self.node_oriented && r.nodes.first().is_some_and(|n| self.key(n) == key)
            });
            match existing {
                Some(row) => row.nodes.push(node),
                None => rows.push(Row {
                    part_pos,
                    partition: part,
                    nodes: vec![node],
                }),
            }
        }
    }

    /// The values that must match for two nodes to share a row.
    fn key(&self, node: &NodeView) -> Vec<String> {
        use NodeField as F;
        let x = self.env.node(&node.config.name);
        let mut key = Vec::new();
        for c in self.layout.columns() {
            let part = match c.field {
                F::StateCompact | F::StateLong => node.state.sinfo_short(),
                F::Features | F::FeaturesAct => node.config.features.join(","),
                F::Gres => tres::format_gres_list(&node.config.gres),
                F::Weight => node.config.weight.to_string(),
                F::Reason => node.reason.clone().unwrap_or_default(),
                F::User | F::UserLong => x.reason_user.clone().unwrap_or_default(),
                F::Timestamp => format!("{:?}", x.reason_time),
                F::Sct | F::Sockets | F::Cores | F::Threads => sct(node),
                F::Version => x.version.clone().unwrap_or_default(),
                F::Cpus if self.exact => node.config.cpus.to_string(),
                F::Memory if self.exact => node.config.real_memory_mb.to_string(),
                _ => continue,
            };
            key.push(part);
        }
        key
    }

    fn sort(&self, rows: &mut [Row<'a>]) {
        if self.node_oriented {
            rows.sort_by(|a, b| natural_cmp(first_name(a), first_name(b)));
        } else if self.shows(|f| matches!(f, NodeField::StateCompact | NodeField::StateLong)) {
            // `#P,-t`: rows are built in partition order; sort each partition by state.
            rows.sort_by(|a, b| {
                a.part_pos
                    .cmp(&b.part_pos)
                    .then_with(|| state_rank(b).cmp(&state_rank(a)))
            });
        }
    }

    fn render(&self, rows: &[Row<'_>], widen: Widen, header: bool) -> String {
        let part_width = widen.partition.then(|| partition_width(rows));
        let node_width = widen.node_list.then(|| node_list_width(rows));
        let width_of = |c: &Column<NodeField>| match c.field {
            NodeField::Partition | NodeField::PartitionName => part_width.unwrap_or(c.width),
            NodeField::NodeList | NodeField::Hostnames => node_width.unwrap_or(c.width),
            _ => c.width,
        };
        let mut out = String::new();
        if header {
            fields::render_header(&mut out, self.layout, width_of);
        }
        for row in rows {
            fields::render_line(&mut out, self.layout, width_of, |f, w| {
                (self.value(row, f, w), true)
            });
        }
        out
    }

    /// One row's value for a field, given the column width.
    fn value(&self, row: &Row<'_>, field: NodeField, width: usize) -> String {
        use NodeField as F;
        match field {
            F::Partition => row.partition.map_or_else(na, |p| partition_label(p, width)),
            F::PartitionName => row.partition.map_or_else(na, |p| p.name.clone()),
            F::NodeList => hostlist::compress(&names(row)),
            F::Nodes => row.nodes.len().to_string(),
            F::StateCompact => state_text(row, NodeState::sinfo_short),
            F::StateLong => state_text(row, NodeState::sinfo_long),
            F::NodesAi => {
                let (a, i, _, _) = node_counts(row);
                format!("{a}/{i}")
            }
            F::NodesAiot => {
                let (a, i, o, t) = node_counts(row);
                format!("{a}/{i}/{o}/{t}")
            }
            F::CpusState => {
                let (a, i, o, t) = cpu_counts(row);
                format!("{a}/{i}/{o}/{t}")
            }
            _ => self
                .node_value(row, field)
                .unwrap_or_else(|| partition_value(row.partition, field)),
        }
    }

    /// The row's node addresses (or host names), compressed; the node name when unknown.
    fn addresses(&self, row: &Row<'_>, pick: impl Fn(&NodeExtras) -> Option<&str>) -> String {
        let list: Vec<String> = row
            .nodes
            .iter()
            .map(|n| {
                let name = n.config.name.as_str();
                pick(self.env.node(name)).unwrap_or(name).to_owned()
            })
            .collect();
        hostlist::compress(&list)
    }

    /// Values taken from the row's nodes (`None` for partition fields).
    fn node_value(&self, row: &Row<'_>, field: NodeField) -> Option<String> {
        use NodeField as F;
        let first = row.nodes.first();
        let extras = |n: &NodeView| self.env.node(&n.config.name);
        Some(match field {
            F::Cpus => min_plus(row, |n| u64::from(n.config.cpus), count_exact),
            F::Memory => min_plus(row, |n| n.config.real_memory_mb, |v| v.to_string()),
            F::Disk => "0".to_owned(),
            F::Weight => min_plus(row, |n| u64::from(n.config.weight), |v| v.to_string()),
            F::Sct => first.map_or_else(na, |n| sct(n)),
            F::Sockets => min_plus(row, |n| u64::from(n.config.sockets), count_exact),
            F::Cores => min_plus(row, |n| u64::from(n.config.cores_per_socket), count_exact),
            F::Threads => min_plus(row, |n| u64::from(n.config.threads_per_core), count_exact),
            F::Features | F::FeaturesAct => {
                first.map_or_else(null, |n| or_null(n.config.features.join(",")))
            }
            F::Gres => first.map_or_else(null, |n| or_null(tres::format_gres_list(&n.config.gres))),
            F::GresUsed => {
                first.map_or_else(null, |n| or_null(tres::format_gres_list(&n.alloc_gres)))
            }
            F::AllocMem => row
                .nodes
                .iter()
                .map(|n| n.alloc_mem_mb)
                .fold(0, u64::saturating_add)
                .to_string(),
            F::Reason => first
                .and_then(|n| n.reason.clone())
                .filter(|r| !r.is_empty() && r != "(null)")
                .unwrap_or_else(|| "none".to_owned()),
            F::User | F::UserLong => first
                .and_then(|n| extras(n).reason_user.clone())
                .unwrap_or_else(|| "Unknown".to_owned()),
            F::Timestamp => first
                .and_then(|n| extras(n).reason_time)
                .map_or_else(|| "Unknown".to_owned(), |t| self.env.iso(t)),
            F::FreeMem => min_plus_opt(row, |n| extras(n).free_mem_mb),
            F::CpuLoad => first.and_then(|n| extras(n).cpu_load_centi).map_or_else(
                || "N/A".to_owned(),
                |l| format!("{}.{:02}", l / 100, l % 100),
            ),
            F::NodeAddr => self.addresses(row, |x| x.node_addr.as_deref()),
            F::Hostnames => self.addresses(row, |x| x.hostname.as_deref()),
            F::Version => first
                .and_then(|n| extras(n).version.clone())
                .unwrap_or_else(|| "N/A".to_owned()),
            _ => return None,
        })
    }
}

fn na() -> String {
    "n/a".to_owned()
}

fn null() -> String {
    "(null)".to_owned()
}

fn or_null(s: String) -> String {
    if s.is_empty() { null() } else { s }
}

fn names(row: &Row<'_>) -> Vec<String> {
    row.nodes.iter().map(|n| n.config.name.clone()).collect()
}

/// `debug*` for the default partition; when the name fills the column, its last character
/// becomes the `*` (Slurm's `_print_partition`).
fn partition_label(part: &PartitionConfig, width: usize) -> String {
    if !part.default {
        return part.name.clone();
    }
    let len = part.name.chars().count();
    if width == 0 || len < width {
        format!("{}*", part.name)
    } else {
        format!("{}*", fields::truncate(&part.name, width.saturating_sub(1)))
    }
}

fn partition_value(part: Option<&PartitionConfig>, field: NodeField) -> String {
    use NodeField as F;
    let Some(p) = part else {
        return na();
    };
    match field {
        F::Avail => avail(p.state).to_owned(),
        F::Time => limit(p.max_time),
        F::DefaultTime => p.default_time.map_or_else(na, limit),
        F::Size => job_size(p),
        F::Root => "no".to_owned(),
        F::OverSubscribe => oversubscribe_text(p.oversubscribe).to_owned(),
        F::Groups => match &p.allow_groups {
            AccessList::All => "all".to_owned(),
            AccessList::Only(g) => g.join(","),
        },
        F::PriorityTier => p.priority_tier.to_string(),
        F::PriorityJobFactor => p.priority_job_factor.to_string(),
        F::AllocNodes => "all".to_owned(),
        F::PreemptMode => "OFF".to_owned(),
        F::MaxCpusPerNode => "UNLIMITED".to_owned(),
        F::Reservation => String::new(),
        _ => na(),
    }
}

fn avail(state: PartitionState) -> &'static str {
    match state {
        PartitionState::Up => "up",
        PartitionState::Down => "down",
        PartitionState::Drain => "drain",
        PartitionState::Inactive => "inactive",
    }
}

/// `infinite` or sinfo's elapsed spelling (`1:00:00`).
fn limit(limit: TimeLimit) -> String {
    match limit {
        TimeLimit::Infinite => "infinite".to_owned(),
        TimeLimit::Seconds(s) => timefmt::elapsed_unchecked(i64::try_from(s).unwrap_or(i64::MAX)),
    }
}

/// `JOB_SIZE`: `1-infinite`, `2-8`, `4`.
fn job_size(p: &PartitionConfig) -> String {
    let min = if p.min_nodes < 1 { 1 } else { p.min_nodes };
    match p.max_nodes {
        None => format!("{min}-infinite"),
        Some(max) if max == min => max.to_string(),
        Some(max) => format!("{min}-{max}"),
    }
}

fn state_text(row: &Row<'_>, f: impl Fn(&NodeState) -> String) -> String {
    row.nodes.first().map_or_else(na, |n| f(&n.state))
}

fn sct(n: &NodeView) -> String {
    let c = &n.config;
    format!(
        "{}:{}:{}",
        c.sockets, c.cores_per_socket, c.threads_per_core
    )
}

/// Allocated / idle / other / total nodes (Slurm's `_update_sinfo` rules).
fn node_counts(row: &Row<'_>) -> (usize, usize, usize, usize) {
    let (mut a, mut i, mut o) = (0, 0, 0);
    for n in &row.nodes {
        match class(&n.state) {
            Class::Alloc => a += 1,
            Class::Other => o += 1,
            Class::Idle => i += 1,
        }
    }
    (a, i, o, row.nodes.len())
}

/// Allocated / idle / other / total CPUs.
fn cpu_counts(row: &Row<'_>) -> (u64, u64, u64, u64) {
    let (mut a, mut i, mut o, mut t) = (0u64, 0u64, 0u64, 0u64);
    for n in &row.nodes {
        let total = u64::from(n.config.cpus);
        let used = u64::from(n.alloc_cpus).min(total);
        a += used;
        t += total;
        if class(&n.state) == Class::Other {
            o += total - used;
        } else {
            i += total - used;
        }
    }
    (a, i, o, t)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Alloc,
    Idle,
    Other,
}

fn class(state: &NodeState) -> Class {
    let busy = matches!(state.base, NodeBaseState::Allocated | NodeBaseState::Mixed);
    if busy || state.flags.completing {
        Class::Alloc
    } else if state.flags.drain || state.base == NodeBaseState::Down {
        Class::Other
    } else {
        Class::Idle
    }
}

/// `64`, or `64+` when the row's nodes differ.
fn min_plus(row: &Row<'_>, get: impl Fn(&NodeView) -> u64, show: impl Fn(u64) -> String) -> String {
    let min = row.nodes.iter().map(|n| get(n)).min();
    let max = row.nodes.iter().map(|n| get(n)).max();
    match (min, max) {
        (Some(lo), Some(hi)) if lo == hi => show(lo),
        (Some(lo), Some(_)) => format!("{}+", show(lo)),
        _ => "0".to_owned(),
    }
}

fn min_plus_opt(row: &Row<'_>, get: impl Fn(&NodeView) -> Option<u64>) -> String {
    let values: Option<Vec<u64>> = row.nodes.iter().map(|n| get(n)).collect();
    match values.as_deref() {
        Some([first, rest @ ..]) if rest.iter().all(|v| v == first) => first.to_string(),
        Some(v) if !v.is_empty() => format!("{}+", v.iter().min().copied().unwrap_or(0)),
        _ => "N/A".to_owned(),
    }
}

/// Counts with Slurm's exact unit suffixes (`1024` → `1K`).
fn count_exact(n: u64) -> String {
    let mut value = n;
    for unit in ["", "K", "M", "G"] {
        if value < 1024 || !value.is_multiple_of(1024) {
            return format!("{value}{unit}");
        }
        value /= 1024;
    }
    format!("{value}T")
}

fn first_name<'r>(row: &'r Row<'_>) -> &'r str {
    row.nodes.first().map_or("", |n| n.config.name.as_str())
}

/// Slurm's numeric node state (base state plus flag bits), for `-t` sorting.
fn state_rank(row: &Row<'_>) -> u32 {
    let Some(n) = row.nodes.first() else {
        return 0;
    };
    let s = &n.state;
    let base = match s.base {
        NodeBaseState::Unknown => 0,
        NodeBaseState::Down => 1,
        NodeBaseState::Idle => 2,
        NodeBaseState::Allocated => 3,
        NodeBaseState::Mixed => 5,
        NodeBaseState::Future => 6,
    };
    let flags = [
        (s.flags.cloud, 0x80),
        (s.flags.drain, 0x200),
        (s.flags.completing, 0x400),
        (s.flags.not_responding, 0x800),
        (s.flags.powered_down, 0x1000),
        (s.flags.powering_up, 0x4000),
        (s.flags.powering_down, 0x8000),
    ];
    flags
        .iter()
        .filter(|(on, _)| *on)
        .fold(base, |acc, (_, bit)| acc | bit)
}

/// Host-name order: text compared as text, digit runs compared as numbers (`n2` < `n10`).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let (cx, rx) = chunk(x);
        let (cy, ry) = chunk(y);
        let ord = match (cx.parse::<u128>(), cy.parse::<u128>()) {
            (Ok(nx), Ok(ny)) => nx.cmp(&ny).then_with(|| cx.len().cmp(&cy.len())),
            _ => cx.cmp(cy),
        };
        if ord != Ordering::Equal {
            return ord;
        }
        (x, y) = (rx, ry);
    }
}

/// The leading run of digits or of non-digits, and the rest.
fn chunk(s: &str) -> (&str, &str) {
    let digit = s.starts_with(|c: char| c.is_ascii_digit());
    let end = s
        .find(|c: char| c.is_ascii_digit() != digit)
        .unwrap_or(s.len());
    s.split_at(end)
}

/// The widening partition column: the longest name (`*` included), at least 9.
fn partition_width(rows: &[Row<'_>]) -> usize {
    rows.iter()
        .filter_map(|r| r.partition)
        .map(|p| p.name.chars().count() + usize::from(p.default))
        .fold(MIN_FIELD_WIDTH, usize::max)
}

/// The widening node-list column: the longest node list, at least 9.
fn node_list_width(rows: &[Row<'_>]) -> usize {
    rows.iter()
        .map(|r| hostlist::compress(&names(r)).chars().count())
        .fold(MIN_FIELD_WIDTH, usize::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Gres, NodeConfig};

    fn node(name: &str, cpus: u32, base: NodeBaseState) -> NodeView {
        NodeView {
            config: NodeConfig::simple(name, cpus, 1000),
            state: NodeState::new(base),
            reason: None,
            alloc_cpus: if base == NodeBaseState::Idle { 0 } else { 1 },
            alloc_mem_mb: 0,
            alloc_gres: Vec::new(),
            jobs: Vec::new(),
        }
    }

    fn drained(mut n: NodeView, reason: &str) -> NodeView {
        n.state.flags.drain = true;
        n.reason = Some(reason.into());
        n
    }

    fn cluster() -> (Vec<PartitionConfig>, Vec<NodeView>) {
        let names: Vec<String> = (1..=6).map(|i| format!("n{i}")).collect();
        let mut batch = PartitionConfig::new("batch", names.clone());
        batch.default = true;
        batch.max_time = TimeLimit::minutes(24 * 60 + 30);
        let gpu = PartitionConfig::new("gpu", vec!["n5".into(), "n6".into()]);
        let empty = PartitionConfig::new("empty", Vec::new());
        let nodes = vec![
            node("n1", 8, NodeBaseState::Idle),
            node("n2", 8, NodeBaseState::Mixed),
            node("n3", 16, NodeBaseState::Idle),
            drained(node("n4", 8, NodeBaseState::Idle), "bad disk"),
            node("n5", 8, NodeBaseState::Allocated).with_gpu(),
            drained(node("n6", 8, NodeBaseState::Down), "dead"),
        ];
        (vec![batch, gpu, empty], nodes)
    }

    trait WithGpu {
        fn with_gpu(self) -> Self;
    }

    impl WithGpu for NodeView {
        fn with_gpu(mut self) -> Self {
            self.config.gres.push(Gres::new("gpu", Some("a100"), 4));
            self
        }
    }

    fn run(options: Options) -> Output {
        let (parts, nodes) = cluster();
        sinfo(&parts, &nodes, &options, &FormatEnv::new(0, 0))
    }

    #[test]
    fn default_rows_group_by_state_in_partition_order() {
        let out = run(Options::default());
        assert_eq!(
            out.stdout,
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             batch*       up 1-00:30:00      1  drain n4\n\
             batch*       up 1-00:30:00      1   down n6\n\
             batch*       up 1-00:30:00      1    mix n2\n\
             batch*       up 1-00:30:00      1  alloc n5\n\
             batch*       up 1-00:30:00      2   idle n[1,3]\n\
             gpu          up   infinite      1   down n6\n\
             gpu          up   infinite      1  alloc n5\n\
             empty        up   infinite      0    n/a \n"
        );
    }

    #[test]
    fn custom_format_with_min_plus_and_cpu_states() {
        let options = Options {
            format: Some(Format::Percent("%R|%c|%C|%F|%G %Q".into())),
            ..Options::default()
        };
        let out = run(options);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines[0],
            "PARTITION|CPUS|CPUS(A/I/O/T)|NODES(A/I/O/T)|GRES %Q"
        );
        assert_eq!(lines[1], "batch|8+|2/31/15/48|1/2/2/5|(null) %Q");
        assert_eq!(lines[2], "batch|8|1/7/0/8|1/0/0/1|gpu:a100:4 %Q");
        assert_eq!(out.stderr, vec!["Invalid node format specification: Q"]);
    }

    #[test]
    fn summarize_and_exact_grouping() {
        let out = run(Options {
            summarize: true,
            ..Options::default()
        });
        assert!(
            out.stdout
                .contains("\nbatch*       up 1-00:30:00          2/2/2/6 n[1-6]\n")
        );
        let exact = run(Options {
            format: Some(Format::Percent("%P %c %D".into())),
            exact: true,
            ..Options::default()
        });
        assert!(exact.stdout.contains("batch* 8 5\nbatch* 16 1\n"));
        let loose = run(Options {
            format: Some(Format::Percent("%P %c %D".into())),
            ..Options::default()
        });
        assert!(loose.stdout.contains("batch* 8+ 6\n"));
    }

    #[test]
    fn node_oriented_rows_sort_by_name() {
        let out = run(Options {
            node_oriented: true,
            ..Options::default()
        });
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines[0], "NODELIST   NODES PARTITION STATE ");
        assert_eq!(lines[1], "n1             1    batch* idle  ");
        assert_eq!(lines[5], "n5             1    batch* alloc ");
        assert_eq!(lines[6], "n5             1       gpu alloc ");
        assert_eq!(lines.len(), 9);
    }

    #[test]
    fn list_reasons_shows_down_and_drained_nodes_once() {
        let (parts, nodes) = cluster();
        let mut env = FormatEnv::new(0, 0);
        env.nodes.insert(
            "n4".into(),
            NodeExtras {
                reason_user: Some("root".into()),
                reason_time: Some(86_400),
                ..NodeExtras::default()
            },
        );
        let options = Options {
            list_reasons: true,
            ..Options::default()
        };
        let out = sinfo(&parts, &nodes, &options, &env);
        assert_eq!(
            out.stdout,
            "REASON               USER      TIMESTAMP           NODELIST\n\
             bad disk             root      1970-01-02T00:00:00 n4\n\
             dead                 Unknown   Unknown             n6\n"
        );
    }

    #[test]
    fn long_layouts_start_with_the_date() {
        let out = run(Options {
            long: true,
            ..Options::default()
        });
        let mut lines = out.stdout.lines();
        assert_eq!(lines.next(), Some("Thu Jan  1 00:00:00 1970"));
        assert_eq!(
            lines.next(),
            Some(
                "PARTITION AVAIL  TIMELIMIT   JOB_SIZE ROOT OVERSUBS     GROUPS  NODES       \
                 STATE RESERVATION NODELIST"
            )
        );
        assert_eq!(
            lines.next(),
            Some(
                "batch*       up 1-00:30:00 1-infinite   no       NO        all      1     \
                 drained             n4"
            )
        );
        let bare = run(Options {
            long: true,
            no_header: true,
            ..Options::default()
        });
        assert!(bare.stdout.starts_with("batch* "));
    }

    #[test]
    fn default_partition_star_replaces_the_last_character_when_full() {
        let mut p = PartitionConfig::new("abcdef", vec![]);
        p.default = true;
        assert_eq!(partition_label(&p, 0), "abcdef*");
        assert_eq!(partition_label(&p, 9), "abcdef*");
        assert_eq!(partition_label(&p, 4), "abc*");
    }

    #[test]
    fn natural_order() {
        let mut names = vec!["n10", "n2", "a", "n1b", "n1", "", "n01"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, vec!["", "a", "n1", "n1b", "n01", "n2", "n10"]);
    }

    #[test]
    fn long_field_names_and_counts() {
        assert_eq!(NodeField::from_name("NodeList"), Some(NodeField::NodeList));
        assert_eq!(NodeField::from_code('P'), Some(NodeField::Partition));
        for d in FIELDS {
            assert_eq!(d.0.def().0, d.0);
        }
        assert_eq!(count_exact(64), "64");
        assert_eq!(count_exact(2048), "2K");
    }
}
