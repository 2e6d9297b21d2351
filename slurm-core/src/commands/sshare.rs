//! `sshare`: each association's shares, usage and fairshare factor.
//!
//! `sshare [-a] [-l] [-m] [-A accounts] [-u users] [-U] [-n] [-p|-P] [-o format]`. The dbd
//! (`QueryShares`) gives the association tree with each association's shares and usage
//! decayed with the cluster's `PriorityDecayHalfLife`; the columns are Slurm's classic
//! fairshare (`PriorityFlags=NO_FAIR_TREE`):
//! * NormShares `S`: an association's shares over its siblings' (users and sub-accounts of
//!   the same account), times its parent's `S`;
//! * RawUsage: decayed billing TRES-seconds; NormUsage `U`: over the root's;
//! * EffectvUsage `UE = U + (UE_parent - U) * shares / sibling shares` (root: 1);
//! * FairShare `F = 2^(-UE/S)`, computed by the scheduling engine's
//!   [`Fairshare`](crate::engine::Fairshare) from the same shares and usage.
//!
//! With no usage at all every effective usage is 0 and every factor 1, as the engine has it.
//! Under `PrivateData=usage` a user who is not an operator gets only their own associations,
//! with these figures computed by the dbd over the whole tree.
//! Without `-a` or `-u` only the caller's associations are listed (with every account).

use super::common;
use super::getopt::{self, HasArg, Opt, opt};
use super::{Output, Step, getopt_failure, split_list};
use crate::config::AccountingStorage;
use crate::dbd::client::{DbdCallError, DbdClient};
use crate::engine::Fairshare;
use crate::proto::{AssocShares, SharesReply};
use std::collections::HashMap;
use std::ffi::OsString;
use std::process::ExitCode;

pub const PROG: &str = "sshare";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshareArgs {
    /// `-a`: every user.
    pub all: bool,
    /// `-l`: NormUsage, GrpTRESMins and TRESRunMins too.
    pub long: bool,
    /// `-m`: the Partition column.
    pub partitions: bool,
    /// `-A`.
    pub accounts: Vec<String>,
    /// `-u` (empty: the caller, unless `-a`).
    pub users: Vec<String>,
    /// `-U`: user associations only.
    pub users_only: bool,
    pub no_header: bool,
    /// `-p` (`Some(true)`) or `-P` (`Some(false)`).
    pub parsable: Option<bool>,
    /// `-o`.
    pub format: Option<String>,
    /// `-M`.
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Accounts,
    All,
    Cluster,
    Format,
    Help,
    Long,
    Partition,
    NoHeader,
    Parsable,
    Parsable2,
    Users,
    UsersOnly,
    Usage,
    Verbose,
    Version,
}

const OPTIONS: &[Opt<K>] = &[
    opt("accounts", Some('A'), HasArg::Required, K::Accounts),
    opt("all", Some('a'), HasArg::No, K::All),
    opt("clusters", Some('M'), HasArg::Required, K::Cluster),
    opt("format", Some('o'), HasArg::Required, K::Format),
    opt("help", None, HasArg::No, K::Help),
    opt("long", Some('l'), HasArg::No, K::Long),
    opt("partition", Some('m'), HasArg::No, K::Partition),
    opt("noheader", Some('n'), HasArg::No, K::NoHeader),
    opt("parsable", Some('p'), HasArg::No, K::Parsable),
    opt("parsable2", Some('P'), HasArg::No, K::Parsable2),
    opt("users", Some('u'), HasArg::Required, K::Users),
    opt("Users", Some('U'), HasArg::No, K::UsersOnly),
    opt("usage", None, HasArg::No, K::Usage),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
];

/// Parses sshare's command line (without the program name).
pub fn parse_args(args: &[String]) -> Step<SshareArgs> {
    let m = match getopt::parse(args, OPTIONS) {
        Ok(m) => m,
        Err(e) => return Step::Exit(getopt_failure(PROG, &e)),
    };
    let mut a = SshareArgs::default();
    for (key, value) in m.opts {
        let value = value.unwrap_or_default();
        match key {
            K::Accounts => a.accounts.extend(split_list(&value)),
            K::All => a.all = true,
            K::Cluster => a.cluster = Some(value),
            K::Format => a.format = Some(value),
            K::Help | K::Usage => return Step::Exit(Output::ok(HELP)),
            K::Long => a.long = true,
            K::Partition => a.partitions = true,
            K::NoHeader => a.no_header = true,
            K::Parsable => a.parsable = Some(true),
            K::Parsable2 => a.parsable = Some(false),
            K::Users => a.users.extend(split_list(&value)),
            K::UsersOnly => a.users_only = true,
            K::Verbose => {}
            K::Version => return Step::Exit(common::version()),
        }
    }
    if let Some(extra) = m.operands.first() {
        return Step::Exit(Output::fail(
            format!("{PROG}: error: Unknown arguments: {extra}"),
            1,
        ));
    }
    Step::Run(a)
}

/// One printed line's values.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareLine {
    /// The account, indented by its depth in the tree (users one deeper).
    pub account: String,
    pub user: String,
    pub partition: String,
    /// `None` for root.
    pub raw_shares: Option<u32>,
    pub norm_shares: f64,
    pub raw_usage: f64,
    pub norm_usage: f64,
    pub effective_usage: f64,
    /// `None` for accounts.
    pub fairshare: Option<f64>,
    pub grp_tres_mins: String,
    pub tres_run_mins: String,
}

/// Slurm's TRES, in its order, for TRESRunMins (GRES seen are added after them).
const TRES_NAMES: &[&str] = &[
    "cpu", "mem", "energy", "node", "billing", "fs/disk", "vmem", "pages",
];

/// The lines sshare prints for a reply, with classic fairshare computed for every
/// association (see the module documentation).
pub fn compute(reply: &SharesReply, half_life_s: u64) -> Vec<ShareLine> {
    let assocs = &reply.assocs;
    let is_account = |a: &AssocShares| a.user.is_empty() && a.partition.is_empty();
    let parent_of = |a: &AssocShares| -> Option<String> {
        if is_account(a) {
            (!a.parent.is_empty()).then(|| a.parent.clone())
        } else {
            Some(a.account.clone())
        }
    };
    // Sibling shares: everything whose parent is the same account.
    let mut level: HashMap<String, u64> = HashMap::new();
    for a in assocs {
        if let Some(p) = parent_of(a) {
            *level.entry(p).or_insert(0) += u64::from(a.shares);
        }
    }
    let root_usage = assocs
        .iter()
        .find(|a| is_account(a) && a.parent.is_empty())
        .map_or(0.0, |a| a.usage);
    // The engine's fairshare over the same tree (no decay: usage is already decayed).
    let mut engine = Fairshare::new(half_life_s, reply.now);
    for a in assocs
        .iter()
        .filter(|a| is_account(a) && !a.parent.is_empty())
    {
        engine.set_account(&a.account, &a.parent, a.shares);
    }
    let mut user_usage: HashMap<(String, String), f64> = HashMap::new();
    for a in assocs.iter().filter(|a| !a.user.is_empty()) {
        if a.partition.is_empty() {
            engine.set_user(&a.account, &a.user, a.shares);
        } else {
            engine.ensure_user(&a.account, &a.user);
        }
        *user_usage
            .entry((a.account.clone(), a.user.clone()))
            .or_insert(0.0) += a.usage;
    }
    for ((account, user), usage) in &user_usage {
        if *usage > 0.0 {
            engine.add_usage(account, user, *usage);
        }
    }
    // Norm shares, effective usage, depth: parents come before their children.
    let mut by_account: HashMap<String, (f64, f64, usize)> = HashMap::new();
    let mut gres: Vec<String> = Vec::new();
    for a in assocs {
        for (t, _) in &a.tres_run_mins {
            if !TRES_NAMES.contains(&t.as_str()) && !gres.contains(t) {
                gres.push(t.clone());
            }
        }
    }
    let mut lines = Vec::with_capacity(assocs.len());
    for a in assocs {
        let u = if root_usage > 0.0 {
            a.usage / root_usage
        } else {
            0.0
        };
        let parent = parent_of(a);
        let (s, ue, depth) = match &parent {
            None => (1.0, 1.0, 0),
            Some(p) => {
                let (ps, pue, pdepth) = by_account.get(p).copied().unwrap_or((1.0, 1.0, 0));
                let lvl = level.get(p).copied().unwrap_or(0);
                let ratio = if lvl == 0 {
                    0.0
                } else {
                    f64::from(a.shares) / lvl as f64
                };
                let ue = if root_usage <= 0.0 {
                    0.0
                } else if lvl == 0 {
                    pue
                } else {
                    u + (pue - u) * ratio
                };
                (ps * ratio, ue, pdepth + 1)
            }
        };
        if is_account(a) {
            by_account.insert(a.account.clone(), (s, ue, depth));
        }
        let run_mins: Vec<String> = TRES_NAMES
            .iter()
            .map(|t| (*t).to_owned())
            .chain(gres.iter().cloned())
            .map(|t| {
                let v = a
                    .tres_run_mins
                    .iter()
                    .find(|(n, _)| *n == t)
                    .map_or(0, |(_, v)| *v);
                format!("{t}={v}")
            })
            .collect();
        // PrivateData=usage: the dbd computed these over the tree the caller does not see.
        let (s, u, ue, depth, fairshare) = match &a.computed {
            Some(c) => (
                c.norm_shares,
                c.norm_usage,
                c.effective_usage,
                c.depth as usize,
                c.fairshare,
            ),
            None => (
                s,
                u,
                ue,
                depth,
                (!a.user.is_empty()).then(|| engine.factor(&a.account, &a.user)),
            ),
        };
        lines.push(ShareLine {
            account: format!("{}{}", " ".repeat(depth), a.account),
            user: a.user.clone(),
            partition: a.partition.clone(),
            raw_shares: parent.as_ref().map(|_| a.shares),
            norm_shares: if parent.is_none() { 0.0 } else { s },
            raw_usage: a.usage,
            norm_usage: u,
            effective_usage: ue,
            fairshare,
            grp_tres_mins: a.grp_tres_mins.clone(),
            tres_run_mins: run_mins.join(","),
        });
    }
    lines
}

/// The lines sshare shows: the caller's (or `-u`'s, or everyone's with `-a`) user
/// associations and, unless `-U`, the accounts; `-A` keeps those accounts only.
pub fn select(
    reply: &SharesReply,
    lines: Vec<ShareLine>,
    args: &SshareArgs,
    me: &str,
) -> Vec<ShareLine> {
    reply
        .assocs
        .iter()
        .zip(lines)
        .filter(|(a, _)| {
            if !args.accounts.is_empty() && !args.accounts.contains(&a.account) {
                return false;
            }
            if a.user.is_empty() {
                return !args.users_only;
            }
            if args.all {
                true
            } else if args.users.is_empty() {
                a.user == me
            } else {
                args.users.contains(&a.user)
            }
        })
        .map(|(_, l)| l)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Account,
    User,
    Partition,
    RawShares,
    NormShares,
    RawUsage,
    NormUsage,
    EffectvUsage,
    FairShare,
    GrpTresMins,
    TresRunMins,
    Cluster,
}

/// (name, field, width; negative: left-aligned), as sshare's field table.
const FIELDS: &[(&str, Field, i32)] = &[
    ("Account", Field::Account, -20),
    ("Cluster", Field::Cluster, 10),
    ("EffectvUsage", Field::EffectvUsage, 13),
    ("FairShare", Field::FairShare, 10),
    ("NormShares", Field::NormShares, 11),
    ("NormUsage", Field::NormUsage, 11),
    ("Partition", Field::Partition, 12),
    ("RawShares", Field::RawShares, 10),
    ("RawUsage", Field::RawUsage, 11),
    ("User", Field::User, 10),
    ("GrpTRESMins", Field::GrpTresMins, 30),
    ("TRESRunMins", Field::TresRunMins, 30),
];

fn columns(args: &SshareArgs) -> Result<Vec<(&'static str, Field, i32)>, String> {
    let default = match (args.long, args.partitions) {
        (false, false) => "A,User,RawShares,NormShares,RawUsage,Eff,Fairshare",
        (false, true) => "A,User,P,RawShares,NormShares,RawUsage,Eff,Fairshare",
        (true, false) => {
            "A,User,RawShares,NormShares,RawUsage,NormUsage,Eff,Fairshare,GrpTRESMins,TRESRunMins"
        }
        (true, true) => {
            "A,User,P,RawShares,NormShares,RawUsage,NormUsage,Eff,Fairshare,GrpTRESMins,\
             TRESRunMins"
        }
    };
    let text = args.format.as_deref().unwrap_or(default);
    let mut out = Vec::new();
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let (name, width) = match item.split_once('%') {
            Some((n, w)) => (n, w.parse::<i32>().ok()),
            None => (item, None),
        };
        let lower = name.to_ascii_lowercase();
        let Some(&(header, field, len)) = FIELDS
            .iter()
            .find(|(n, _, _)| n.to_ascii_lowercase().starts_with(&lower))
        else {
            return Err(format!("Invalid field requested: \"{name}\""));
        };
        out.push((header, field, width.unwrap_or(len)));
    }
    Ok(out)
}

/// `print_fields_double`: `%f` in the width (`%e` when it does not fit).
fn double(v: f64, width: usize) -> String {
    let s = format!("{v:.6}");
    if s.len() <= width {
        return s;
    }
    let prec = width.saturating_sub(6).max(1);
    format!("{v:.prec$e}")
}

fn cell(out: &mut String, text: &str, len: i32, cut: bool) {
    let w = len.unsigned_abs() as usize;
    let n = text.chars().count();
    let text: String = if cut && n > w {
        let mut t: String = text.chars().take(w.saturating_sub(1)).collect();
        t.push('+');
        t
    } else {
        text.to_owned()
    };
    if len < 0 {
        out.push_str(&format!("{text:<w$} "));
    } else {
        out.push_str(&format!("{text:>w$} "));
    }
}

/// sshare's output for the selected lines.
pub fn render(lines: &[ShareLine], args: &SshareArgs, cluster: &str) -> Output {
    let cols = match columns(args) {
        Ok(c) => c,
        Err(e) => return Output::fail(format!("{PROG}: error: {e}"), 1),
    };
    let mut out = String::new();
    let sep = |out: &mut String, values: Vec<String>| {
        out.push_str(&values.join("|"));
        if args.parsable == Some(true) {
            out.push('|');
        }
        out.push('\n');
    };
    if !args.no_header {
        match args.parsable {
            Some(_) => sep(&mut out, cols.iter().map(|c| c.0.to_owned()).collect()),
            None => {
                for (name, _, len) in &cols {
                    let w = len.unsigned_abs() as usize;
                    let name: String = name.chars().take(w).collect();
                    cell(&mut out, &name, *len, false);
                }
                out.push('\n');
                for (_, _, len) in &cols {
                    out.push_str(&"-".repeat(len.unsigned_abs() as usize));
                    out.push(' ');
                }
                out.push('\n');
            }
        }
    }
    for l in lines {
        let values: Vec<(String, bool)> = cols
            .iter()
            .map(|(_, f, len)| {
                let w = len.unsigned_abs() as usize;
                match f {
                    Field::Account => (l.account.clone(), true),
                    Field::Cluster => (cluster.to_owned(), true),
                    Field::User => (l.user.clone(), true),
                    Field::Partition => (l.partition.clone(), true),
                    Field::RawShares => (
                        l.raw_shares.map(|s| s.to_string()).unwrap_or_default(),
                        false,
                    ),
                    Field::NormShares => (double(l.norm_shares, w), false),
                    Field::RawUsage => (format!("{}", l.raw_usage.max(0.0).floor() as u64), false),
                    Field::NormUsage => (double(l.norm_usage, w), false),
                    Field::EffectvUsage => (double(l.effective_usage, w), false),
                    Field::FairShare => {
                        (l.fairshare.map(|f| double(f, w)).unwrap_or_default(), false)
                    }
                    Field::GrpTresMins => (l.grp_tres_mins.clone(), true),
                    Field::TresRunMins => (l.tres_run_mins.clone(), true),
                }
            })
            .collect();
        match args.parsable {
            Some(_) => sep(&mut out, values.into_iter().map(|v| v.0).collect()),
            None => {
                for ((text, cut), (_, _, len)) in values.iter().zip(&cols) {
                    cell(&mut out, text, *len, *cut);
                }
                out.push('\n');
            }
        }
    }
    Output::ok(out)
}

/// Runs `sshare`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match super::utf8_args(PROG, args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    let parsed = match parse_args(&args) {
        Step::Run(a) => a,
        Step::Exit(out) => return out.emit(),
    };
    let cluster = match super::rpc::load_config() {
        Ok(c) => c,
        Err(e) => return common::error(PROG, e).emit(),
    };
    if cluster.accounting.storage != AccountingStorage::Slurmdbd {
        return common::error(PROG, "Slurm accounting storage is disabled").emit();
    }
    let name = parsed
        .cluster
        .clone()
        .unwrap_or_else(|| cluster.cluster_name.clone());
    let half_life = cluster.priority.decay_half_life_s;
    let call = async {
        let creds = crate::auth::CredentialSource::for_commands(&cluster)
            .map_err(|e| DbdCallError::Setup(e.to_string()))?;
        let mut dbd = DbdClient::connect(&cluster, creds).await?;
        dbd.decayed_usage(&name, half_life).await
    };
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    match super::rpc::block_on(call) {
        Ok(Ok(reply)) => {
            let lines = compute(&reply, half_life);
            let lines = select(&reply, lines, &parsed, &me);
            render(&lines, &parsed, &name).emit()
        }
        Ok(Err(DbdCallError::Setup(e))) => common::error(PROG, e).emit(),
        Ok(Err(e)) => common::error(PROG, format!("Problem talking to the database: {e}")).emit(),
        Err(e) => common::error(PROG, e).emit(),
    }
}

const HELP: &str = "\
Usage:  sshare [OPTION]
  Valid OPTIONs are:
    -a or --all            list all users
    -A or --accounts=      display specific accounts (comma separated list)
    -l or --long           include normalized usage in output
    -m or --partition      print the partition part of the association
    -M or --cluster=name   cluster to issue commands to.
    -n or --noheader       omit header from output
    -o or --format=        Comma separated list of fields (Account, User,
                           Partition, RawShares, NormShares, RawUsage,
                           NormUsage, EffectvUsage, FairShare, GrpTRESMins,
                           TRESRunMins, Cluster)
    -p or --parsable       '|' delimited output with a trailing '|'
    -P or --parsable2      '|' delimited output without a trailing '|'
    -u or --users=         display specific users (comma separated list)
    -U or --Users          display only user information
    -v or --verbose        display more information
    -V or --version        display tool version number
          --help           display this usage description
          --usage          display this usage description
";

#[cfg(test)]
mod tests {
    use super::*;

    /// `/work/shared/golden/sshare.txt` (Slurm 22.05). Its cluster ran Fair Tree, and the
    /// controller listed alice's and bob's associations outside the tree: those two lines
    /// (NormShares relative to their siblings only, FairShare 0) are not classic fairshare.
    const GOLDEN: &str = "# $ sshare -a
# exit=0
Account                    User  RawShares  NormShares    RawUsage  EffectvUsage  FairShare 
-------------------- ---------- ---------- ----------- ----------- ------------- ---------- 
physics                   alice          1    0.500000           0      0.000000   0.000000 
physics                     bob          1    0.500000           0      0.000000   0.000000 
root                                          0.000000           0      1.000000            
 root                      root          1    0.500000           0      0.000000   1.000000 
 physics                                 1    0.500000           0      0.000000            
";

    fn assoc(account: &str, user: &str, parent: &str, usage: f64) -> AssocShares {
        AssocShares {
            account: account.into(),
            user: user.into(),
            parent: parent.into(),
            shares: 1,
            usage,
            ..AssocShares::default()
        }
    }

    /// The golden's tree, with usage.
    fn reply(alice: f64, bob: f64) -> SharesReply {
        SharesReply {
            now: 1_795_564_800,
            cluster: "bench".into(),
            assocs: vec![
                assoc("root", "", "", alice + bob),
                assoc("root", "root", "", 0.0),
                assoc("physics", "", "root", alice + bob),
                assoc("physics", "alice", "", alice),
                assoc("physics", "bob", "", bob),
            ],
        }
    }

    fn all() -> SshareArgs {
        match parse_args(&["-a".to_owned()]) {
            Step::Run(a) => a,
            Step::Exit(o) => panic!("{o:?}"),
        }
    }

    #[test]
    fn layout_matches_slurm() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden/sshare.txt");
        if let Ok(on_disk) = std::fs::read_to_string(&path) {
            assert_eq!(on_disk, GOLDEN);
        }
        let r = reply(0.0, 0.0);
        let out = render(
            &select(&r, compute(&r, 0), &all(), "alice"),
            &all(),
            "bench",
        );
        let ours: Vec<&str> = out.stdout.lines().collect();
        let golden: Vec<&str> = GOLDEN.lines().skip(2).collect();
        // Header, root, root's user and the physics account: as Slurm prints them.
        assert_eq!(
            ours[..5],
            [golden[0], golden[1], golden[4], golden[5], golden[6]]
        );
        // alice and bob in the tree, classic: a quarter of the shares each, factor 1.
        assert_eq!(
            ours[5],
            "  physics                 alice          1    0.250000           0      0.000000   1.000000 "
        );
        assert_eq!(ours.len(), 7);
    }

    #[test]
    fn classic_fairshare_by_hand() {
        // alice used 300, bob 100 (decayed seconds); root's own user nothing.
        let r = reply(300.0, 100.0);
        let lines = compute(&r, 7 * 86_400);
        let by = |acct: &str, user: &str| {
            let i = r
                .assocs
                .iter()
                .position(|a| a.account == acct && a.user == user)
                .unwrap();
            lines[i].clone()
        };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        // root/root: S = 1/2, U = 0, UE = 0 + (1 - 0) / 2.
        let rr = by("root", "root");
        assert!(close(rr.norm_shares, 0.5) && close(rr.effective_usage, 0.5));
        assert!(close(rr.fairshare.unwrap(), 0.5));
        // physics: S = 1/2, U = 1, UE = 1.
        let p = by("physics", "");
        assert!(close(p.norm_shares, 0.5) && close(p.effective_usage, 1.0));
        assert_eq!(p.fairshare, None);
        // alice: S = 1/4, U = 3/4, UE = 3/4 + (1 - 3/4) / 2 = 7/8, F = 2^-3.5.
        let a = by("physics", "alice");
        assert!(close(a.norm_shares, 0.25) && close(a.norm_usage, 0.75));
        assert!(close(a.effective_usage, 0.875));
        assert!(close(a.fairshare.unwrap(), 2f64.powf(-3.5)));
        // bob: UE = 1/4 + (1 - 1/4) / 2 = 5/8, F = 2^-2.5.
        let b = by("physics", "bob");
        assert!(close(b.effective_usage, 0.625));
        assert!(close(b.fairshare.unwrap(), 2f64.powf(-2.5)));
        // The engine's factor is 2^(-UE/S) with these UE and S.
        for l in [&rr, &a, &b] {
            let f = 2f64.powf(-l.effective_usage / l.norm_shares);
            assert!(close(l.fairshare.unwrap(), f), "{l:?}");
        }
        let out = render(&lines, &all(), "bench");
        assert!(
            out.stdout.contains(
                "  physics                 alice          1    0.250000         300      0.875000   0.088388 "
            ),
            "{}",
            out.stdout
        );
    }

    #[test]
    fn selection_and_options() {
        let r = reply(3.0, 1.0);
        let lines = compute(&r, 0);
        let parse =
            |a: &[&str]| match parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()) {
                Step::Run(x) => x,
                Step::Exit(o) => panic!("{o:?}"),
            };
        let users = |args: &SshareArgs, me: &str| {
            select(&r, lines.clone(), args, me)
                .into_iter()
                .map(|l| format!("{}/{}", l.account.trim(), l.user))
                .collect::<Vec<_>>()
        };
        // Without -a: the accounts and the caller's own associations.
        assert_eq!(
            users(&parse(&[]), "bob"),
            ["root/", "physics/", "physics/bob"]
        );
        assert_eq!(
            users(&parse(&["-u", "alice,root"]), "bob"),
            ["root/", "root/root", "physics/", "physics/alice"]
        );
        assert_eq!(
            users(&parse(&["-a", "-A", "physics"]), "x"),
            ["physics/", "physics/alice", "physics/bob"]
        );
        assert_eq!(
            users(&parse(&["-a", "-U"]), "x"),
            ["root/root", "physics/alice", "physics/bob"]
        );
        let args = parse(&["-a", "-P", "-n"]);
        let out = render(&select(&r, lines.clone(), &args, "x"), &args, "bench");
        assert_eq!(
            out.stdout.lines().next().unwrap(),
            "root|||0.000000|4|1.000000|"
        );
        let args = parse(&["-a", "-l", "-p"]);
        let out = render(&select(&r, lines.clone(), &args, "x"), &args, "bench");
        assert_eq!(
            out.stdout.lines().next().unwrap(),
            "Account|User|RawShares|NormShares|RawUsage|NormUsage|EffectvUsage|FairShare|GrpTRESMins|TRESRunMins|"
        );
        assert!(matches!(parse_args(&["--bogus".to_owned()]), Step::Exit(o) if o.code == 1));
        let args = parse(&["-o", "Nope"]);
        assert_eq!(render(&lines, &args, "bench").code, 1);
    }
}
