//! `sinfo`: partitions and nodes.
//!
//! One [`ClusterInfo`] request; partition (`-p`), node (`-n`), state (`-t`) and
//! responsiveness (`-d`, `-r`) filters apply here, then the layouts of
//! [`crate::format::sinfo`] (default summary, `-s`, `-N`, `-l`, `-R`, `-o`, `-O`).

use super::common;
use super::getopt::{self, HasArg, Opt, opt};
use super::rpc::{RpcError, Session};
use super::{Output, Step, getopt_failure, split_list};
use crate::engine::NodeView;
use crate::format::FormatEnv;
use crate::format::sinfo::{self as fmt, Format};
use crate::model::{NodeBaseState, NodeState, PartitionConfig};
use crate::parse::hostlist;
use crate::proto::ClusterInfo;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

pub const PROG: &str = "sinfo";

/// The `slurm_perror` context of a failed query.
pub const LOAD_PARTITIONS: &str = "slurm_load_partitions";

/// A parsed sinfo command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinfoArgs {
    pub output: fmt::Options,
    /// `-p`.
    pub partitions: Option<Vec<String>>,
    /// `-n`: node names (expanded).
    pub nodes: Option<Vec<String>>,
    /// `-t`: node state names (lower case), `None` for all.
    pub states: Option<Vec<String>>,
    /// `-d`: only non-responding nodes.
    pub dead: bool,
    /// `-r`: only responding nodes.
    pub responding: bool,
    /// `-i SECONDS`.
    pub iterate: Option<u64>,
}

impl SinfoArgs {
    fn filters_nodes(&self) -> bool {
        self.nodes.is_some() || self.states.is_some() || self.dead || self.responding
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    All,
    Clusters,
    Dead,
    Exact,
    NoHeader,
    Help,
    Hide,
    Iterate,
    Long,
    Local,
    Nodes,
    NodeOriented,
    NoConvert,
    Format,
    FormatLong,
    Partition,
    Responding,
    Reasons,
    Summarize,
    Sort,
    States,
    Reservation,
    Usage,
    Verbose,
    Version,
}

const OPTIONS: &[Opt<K>] = &[
    opt("all", Some('a'), HasArg::No, K::All),
    opt("clusters", Some('M'), HasArg::Required, K::Clusters),
    opt("dead", Some('d'), HasArg::No, K::Dead),
    opt("exact", Some('e'), HasArg::No, K::Exact),
    opt("noheader", Some('h'), HasArg::No, K::NoHeader),
    opt("help", None, HasArg::No, K::Help),
    opt("hide", None, HasArg::No, K::Hide),
    opt("iterate", Some('i'), HasArg::Required, K::Iterate),
    opt("long", Some('l'), HasArg::No, K::Long),
    opt("local", None, HasArg::No, K::Local),
    opt("nodes", Some('n'), HasArg::Required, K::Nodes),
    opt("Node", Some('N'), HasArg::No, K::NodeOriented),
    opt("noconvert", None, HasArg::No, K::NoConvert),
    opt("format", Some('o'), HasArg::Required, K::Format),
    opt("Format", Some('O'), HasArg::Required, K::FormatLong),
    opt("partition", Some('p'), HasArg::Required, K::Partition),
    opt("responding", Some('r'), HasArg::No, K::Responding),
    opt("list-reasons", Some('R'), HasArg::No, K::Reasons),
    opt("summarize", Some('s'), HasArg::No, K::Summarize),
    opt("sort", Some('S'), HasArg::Required, K::Sort),
    opt("states", Some('t'), HasArg::Required, K::States),
    opt("reservation", Some('T'), HasArg::No, K::Reservation),
    opt("usage", None, HasArg::No, K::Usage),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
];

/// Node state names `-t` accepts.
const STATE_NAMES: &[&str] = &[
    "alloc",
    "allocated",
    "cloud",
    "comp",
    "completing",
    "down",
    "drain",
    "drained",
    "draining",
    "drng",
    "future",
    "futr",
    "idle",
    "mix",
    "mixed",
    "no_respond",
    "not_responding",
    "power_down",
    "powered_down",
    "powering_down",
    "power_up",
    "powering_up",
    "unk",
    "unknown",
];

fn error(message: impl std::fmt::Display) -> Output {
    common::error(PROG, message)
}

/// Parses sinfo's arguments (without the program name). `env` supplies `SINFO_FORMAT`,
/// `SINFO_PARTITION`.
pub fn parse_args(args: &[String], env: &BTreeMap<String, String>) -> Step<SinfoArgs> {
    parse_inner(args, env).unwrap_or_else(Step::Exit)
}

fn parse_inner(args: &[String], env: &BTreeMap<String, String>) -> Result<Step<SinfoArgs>, Output> {
    let m = getopt::parse(args, OPTIONS).map_err(|e| getopt_failure(PROG, &e))?;
    let mut a = SinfoArgs::default();
    for (key, value) in m.opts {
        let value = value.unwrap_or_default();
        match key {
            K::All | K::Hide | K::Local | K::NoConvert | K::Verbose => {}
            K::Dead => a.dead = true,
            K::Responding => a.responding = true,
            K::Exact => a.output.exact = true,
            K::NoHeader => a.output.no_header = true,
            K::Help => return Ok(Step::Exit(Output::ok(HELP))),
            K::Usage => return Ok(Step::Exit(Output::ok(USAGE))),
            K::Version => return Ok(Step::Exit(common::version())),
            K::Iterate => a.iterate = Some(common::iterate_seconds(PROG, &value)?),
            K::Long => a.output.long = true,
            K::Nodes => {
                let nodes = hostlist::expand(&value)
                    .map_err(|e| error(format!("Invalid node name list {value}: {e}")))?;
                a.nodes = Some(nodes);
            }
            K::NodeOriented => a.output.node_oriented = true,
            K::Format => a.output.format = Some(Format::Percent(value)),
            K::FormatLong => a.output.format = Some(Format::Fields(value)),
            K::Partition => a.partitions = Some(split_list(&value)),
            K::Reasons => a.output.list_reasons = true,
            K::Summarize => a.output.summarize = true,
            K::States => a.states = parse_states(&value)?,
            K::Clusters | K::Sort | K::Reservation => {
                return Err(common::unsupported(PROG, OPTIONS, key));
            }
        }
    }
    if let Some(extra) = m.operands.first() {
        let message = format!("Unrecognized option: {extra}");
        return Err(common::usage_error(PROG, message, USAGE));
    }
    if a.dead && a.responding {
        return Err(error(
            "-d (--dead) and -r (--responding) are mutually exclusive",
        ));
    }
    if a.output.format.is_none()
        && let Some(f) = env.get("SINFO_FORMAT")
    {
        a.output.format = Some(Format::Percent(f.clone()));
    }
    if a.partitions.is_none() {
        a.partitions = env.get("SINFO_PARTITION").map(|p| split_list(p));
    }
    Ok(Step::Run(a))
}

/// `-t LIST` (`all` for no filter).
pub fn parse_states(text: &str) -> Result<Option<Vec<String>>, Output> {
    let mut states = Vec::new();
    for name in split_list(text) {
        let lower = name.to_ascii_lowercase();
        if lower == "all" {
            return Ok(None);
        }
        if !STATE_NAMES.contains(&lower.as_str()) {
            return Err(error(format!("Bad state string {name}")));
        }
        states.push(lower);
    }
    Ok(Some(states))
}

/// Whether a node is in the state `-t` names (`drain` covers drained and draining nodes;
/// base states match whatever the flags).
pub fn state_matches(name: &str, state: &NodeState) -> bool {
    let f = state.flags;
    let busy = matches!(state.base, NodeBaseState::Mixed | NodeBaseState::Allocated);
    match name {
        "alloc" | "allocated" => state.base == NodeBaseState::Allocated,
        "mix" | "mixed" => state.base == NodeBaseState::Mixed,
        "idle" => state.base == NodeBaseState::Idle,
        "down" => state.base == NodeBaseState::Down,
        "future" | "futr" => state.base == NodeBaseState::Future,
        "unk" | "unknown" => state.base == NodeBaseState::Unknown,
        "drain" => f.drain,
        "drained" => f.drain && !busy,
        "draining" | "drng" => f.drain && busy,
        "comp" | "completing" => f.completing,
        "cloud" => f.cloud,
        "no_respond" | "not_responding" => f.not_responding,
        "power_down" | "powered_down" => f.powered_down,
        "powering_down" => f.powering_down,
        "power_up" | "powering_up" => f.powering_up,
        _ => false,
    }
}

/// The partitions and nodes to show after the filters.
pub fn select(info: &ClusterInfo, args: &SinfoArgs) -> (Vec<PartitionConfig>, Vec<NodeView>) {
    let mut partitions: Vec<PartitionConfig> = info
        .partitions
        .iter()
        .filter(|p| args.partitions.as_ref().is_none_or(|l| l.contains(&p.name)))
        .cloned()
        .collect();
    let nodes: Vec<NodeView> = info
        .nodes
        .iter()
        .filter(|n| {
            let name = &n.config.name;
            let in_parts =
                args.partitions.is_none() || partitions.iter().any(|p| p.nodes.contains(name));
            let named = args.nodes.as_ref().is_none_or(|l| l.contains(name));
            let state_ok = args
                .states
                .as_ref()
                .is_none_or(|l| l.iter().any(|s| state_matches(s, &n.state)));
            let alive_ok = (!args.dead || n.state.flags.not_responding)
                && (!args.responding || !n.state.flags.not_responding);
            in_parts && named && state_ok && alive_ok
        })
        .cloned()
        .collect();
    if args.filters_nodes() {
        partitions.retain(|p| nodes.iter().any(|n| p.nodes.contains(&n.config.name)));
    }
    (partitions, nodes)
}

/// sinfo's output for a cluster snapshot.
pub fn render(info: &ClusterInfo, args: &SinfoArgs, env: &FormatEnv) -> Output {
    let (partitions, nodes) = select(info, args);
    let mut out = Output::default();
    if args.iterate.is_some() && !args.output.long && !args.output.no_header {
        out.out_line(env.date_line());
    }
    common::append_printed(&mut out, fmt::sinfo(&partitions, &nodes, &args.output, env));
    out
}

/// Runs `sinfo`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let parsed = match common::command_line(PROG, args, |a| parse_args(a, &super::env_map())) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    common::run_query(PROG, LOAD_PARTITIONS, parsed.iterate, &parsed, once)
}

async fn once(session: &mut Session, args: &SinfoArgs) -> Result<Output, RpcError> {
    let info = session.cluster_info().await?;
    let env = super::lookup::system_format_env(info.now, info.def_mem_per_cpu_mb, []);
    Ok(render(&info, args, &env))
}

const USAGE: &str = "\
Usage: sinfo [-adelNRrsTv] [-i seconds] [-t states] [-p partition] [-n nodes]
             [-S fields] [-o format] [-O Format] [--federation] [--local]
             [--sibling]
";

const HELP: &str = "\
Usage: sinfo [OPTIONS]
  -a, --all                  show all partitions (including hidden and those
                             not accessible)
  -d, --dead                 show only non-responding nodes
  -e, --exact                group nodes only on exact match of configuration
  -h, --noheader             no headers on output
  --hide                     do not show hidden or non-accessible partitions
  -i, --iterate=seconds      specify an iteration period
  -l, --long                 long output - displays more information
  -n, --nodes=NODES          report on specific node(s)
  -N, --Node                 Node-centric format
  -o, --format=format        format specification
  -O, --Format=format        long format specification
  -p, --partition=PARTITION  report on specific partition
  -r, --responding           report only responding nodes
  -R, --list-reasons         list reason nodes are down or drained
  -s, --summarize            report state summary only
  -t, --states=node_state    specify the what states of nodes to view
  -v, --verbose              verbosity level
  -V, --version              output version information and exit

Help options:
  --help                     show this help message
  --usage                    display brief usage message
";
