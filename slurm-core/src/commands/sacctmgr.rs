//! `sacctmgr`: clusters, accounts, users, their associations (with limits, QOS lists and
//! default QOS, per partition where asked) and QOS in the accounting database.
//!
//! `sacctmgr [-i] [-n] [-p|-P] [-s] add|create|modify|update|delete|remove|show|list ENTITY ...`
//! for the entities `cluster`, `account`, `user`, `qos` and (shown only) `association`. Words are
//! `NAME`, `Key=Value`, and for modify `where ... set ...`. Changes go to the dbd, which asks
//! for an operator's credential; without `-i` the change is reported, then committed only if
//! the user answers `y` (as Slurm's sacctmgr asks). Output and wording follow Slurm's.

use super::common;
use super::rpc::{self, RpcError};
use super::{Output, Step};
use crate::auth::CredentialSource;
use crate::client::ClientError;
use crate::config::{AccountingStorage, ClusterConfig};
use crate::model::TimeLimit;
use crate::parse::duration::parse_time_limit;
use crate::proto::slurm_dbd::slurm_dbd_client::SlurmDbdClient;
use crate::proto::{
    Account, AcctUser, Assoc, AssocLimits, ListChange, MgrEntity, MgrList, MgrOp, MgrQuery,
    MgrReply, MgrRequest, Qos, QosSettings,
};
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

mod columns;
mod events;

use columns::{FieldSpec, header, line};

pub const PROG: &str = "sacctmgr";

/// The RPC version shown for this cluster (Slurm 22.05's protocol, the version `-V` reports).
pub const RPC_VERSION: &str = "9728";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub immediate: bool,
    pub no_header: bool,
    /// `-p` (`Some(true)`: trailing `|`) or `-P` (`Some(false)`).
    pub parsable: Option<bool>,
    /// `-s` (`--associations`): `show user` and `show account` list their associations.
    pub with_assocs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Cluster,
    ControlHost,
    ControlPort,
    Rpc,
    Account,
    Descr,
    Org,
    ParentName,
    User,
    DefAcct,
    Admin,
    Partition,
    Share,
    GrpTres,
    GrpTresRunMins,
    GrpJobs,
    GrpSubmit,
    MaxJobs,
    MaxSubmit,
    MaxWall,
    MaxTres,
    Qos,
    DefQos,
    Name,
    Priority,
    GraceTime,
    Preempt,
    PreemptExemptTime,
    PreemptMode,
    Flags,
    UsageThres,
    UsageFactor,
    MaxTresPu,
    MaxJobsPu,
    MaxSubmitPu,
    /// Shown empty: not stored (GrpTRESMins, GrpWall, MaxTRESPerNode, MaxTRESMins,
    /// MaxTRESPA, MaxJobsPA, MaxSubmitPA, MinTRES).
    Unset,
}

/// A column of a listing.
pub type Column = columns::Column<Field>;

/// (names accepted, lower case; field; header; width)
const FIELDS: &[FieldSpec<Field>] = &[
    (&["cluster"], Field::Cluster, "Cluster", 10),
    (&["controlhost"], Field::ControlHost, "ControlHost", 15),
    (&["controlport"], Field::ControlPort, "ControlPort", 12),
    (&["rpc"], Field::Rpc, "RPC", 5),
    (&["account"], Field::Account, "Account", 10),
    (&["descr", "description"], Field::Descr, "Descr", 20),
    (&["org", "organization"], Field::Org, "Org", 20),
    (&["parentname"], Field::ParentName, "Par Name", 10),
    (&["user"], Field::User, "User", 10),
    (
        &["defaultaccount", "defacct", "def acct"],
        Field::DefAcct,
        "Def Acct",
        10,
    ),
    (&["adminlevel", "admin"], Field::Admin, "Admin", 9),
    (&["partition"], Field::Partition, "Partition", 10),
    (&["share", "shares", "fairshare"], Field::Share, "Share", 9),
    (&["grptres"], Field::GrpTres, "GrpTRES", 13),
    (
        &["grptresrunmins", "grptresrunmin", "grpcpurunmins"],
        Field::GrpTresRunMins,
        "GrpTRESRunMin",
        13,
    ),
    (&["grpjobs"], Field::GrpJobs, "GrpJobs", 7),
    (
        &["grpsubmitjobs", "grpsubmit"],
        Field::GrpSubmit,
        "GrpSubmit",
        9,
    ),
    (&["maxjobs"], Field::MaxJobs, "MaxJobs", 7),
    (
        &["maxsubmitjobs", "maxsubmit"],
        Field::MaxSubmit,
        "MaxSubmit",
        9,
    ),
    (
        &["maxwall", "maxwalldurationperjob"],
        Field::MaxWall,
        "MaxWall",
        11,
    ),
    (
        &["maxtres", "maxtresperjob", "maxtrespj"],
        Field::MaxTres,
        "MaxTRES",
        13,
    ),
    (&["qos", "qoslevel"], Field::Qos, "QOS", 20),
    (&["defaultqos", "defqos"], Field::DefQos, "Def QOS", 9),
    (&["name"], Field::Name, "Name", 10),
    (&["priority", "prio"], Field::Priority, "Priority", 10),
    (&["gracetime", "gracet"], Field::GraceTime, "GraceTime", 10),
    (&["preempt"], Field::Preempt, "Preempt", 10),
    (
        &["preemptexempttime", "preempte"],
        Field::PreemptExemptTime,
        "PreemptExemptTime",
        19,
    ),
    (
        &["preemptmode", "preemptm"],
        Field::PreemptMode,
        "PreemptMode",
        11,
    ),
    (&["flags"], Field::Flags, "Flags", 20),
    (
        &["usagethreshold", "usagethres"],
        Field::UsageThres,
        "UsageThres",
        10,
    ),
    (&["usagefactor"], Field::UsageFactor, "UsageFactor", 11),
    (
        &["maxtresperuser", "maxtrespu"],
        Field::MaxTresPu,
        "MaxTRESPU",
        13,
    ),
    (
        &["maxjobsperuser", "maxjobspu"],
        Field::MaxJobsPu,
        "MaxJobsPU",
        9,
    ),
    (
        &["maxsubmitjobsperuser", "maxsubmitjobspu", "maxsubmitpu"],
        Field::MaxSubmitPu,
        "MaxSubmitPU",
        11,
    ),
    (&["grptresmins"], Field::Unset, "GrpTRESMins", 13),
    (&["grpwall"], Field::Unset, "GrpWall", 11),
    (
        &["maxtrespernode", "maxtrespn"],
        Field::Unset,
        "MaxTRESPerNode",
        14,
    ),
    (
        &["maxtresmins", "maxtresminsperjob"],
        Field::Unset,
        "MaxTRESMins",
        13,
    ),
    (
        &["maxtresperaccount", "maxtresperacct", "maxtrespa"],
        Field::Unset,
        "MaxTRESPA",
        13,
    ),
    (
        &["maxjobsperaccount", "maxjobsperacct", "maxjobspa"],
        Field::Unset,
        "MaxJobsPA",
        9,
    ),
    (
        &["maxsubmitjobsperaccount", "maxsubmitjobspa", "maxsubmitpa"],
        Field::Unset,
        "MaxSubmitPA",
        11,
    ),
    (&["mintres", "mintresperjob"], Field::Unset, "MinTRES", 13),
];

const CLUSTER_FORMAT: &str = "Cluster,ControlHost,ControlPort,RPC";
const ACCOUNT_FORMAT: &str = "Account,Descr,Org";
const USER_FORMAT: &str = "User,DefaultAccount,Admin";
const ASSOC_FORMAT: &str = "Cluster,Account,User,Partition,Share,GrpJobs,GrpTRES,GrpSubmit,\
    MaxJobs,MaxTRES,MaxSubmit,MaxWall,QOS,DefaultQOS,GrpTRESRunMins";
const USER_ASSOC_FORMAT: &str = "User,DefaultAccount,Admin,Cluster,Account,Partition,Share,\
    MaxJobs,MaxSubmit,MaxWall,QOS,DefaultQOS";
const ACCOUNT_ASSOC_FORMAT: &str = "Account,Descr,Org,Cluster,ParentName,User,Share,GrpJobs,\
    GrpTRES,MaxJobs,MaxSubmit,MaxWall,QOS,DefaultQOS";
const QOS_FORMAT: &str = "Name,Priority,GraceTime,Preempt,PreemptExemptTime,PreemptMode,\
    Flags%40,UsageThres,UsageFactor,GrpTRES,GrpTRESMins,GrpTRESRunMins,GrpJobs,GrpSubmit,GrpWall,\
    MaxTRES,MaxTRESPerNode,MaxTRESMins,MaxWall,MaxTRESPU,MaxJobsPU,MaxSubmitPU,MaxTRESPA,\
    MaxJobsPA,MaxSubmitPA,MinTRES";

/// Parses `format=`: names with an optional `%WIDTH`.
pub fn parse_format(text: &str) -> Result<Vec<Column>, String> {
    columns::parse_format(text, FIELDS)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Change(MgrOp),
    Show {
        query: MgrQuery,
        columns: Vec<Column>,
        clusters: Vec<String>,
    },
    /// `show event`.
    Events(events::EventsCommand),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub flags: Flags,
    pub command: Command,
}

fn error(message: impl std::fmt::Display) -> Output {
    common::error(PROG, message)
}

/// A request Slurm's sacctmgr refuses: its message on stderr, exit 1.
fn refuse(message: impl AsRef<str>) -> Output {
    Output::fail(message, 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Cluster,
    Account,
    User,
    Assoc,
    Qos,
    Event,
}

fn entity(word: &str) -> Option<Entity> {
    Some(match word.to_ascii_lowercase().as_str() {
        "cluster" | "clusters" => Entity::Cluster,
        "account" | "accounts" | "acct" => Entity::Account,
        "user" | "users" => Entity::User,
        "association" | "associations" | "assoc" | "assocs" => Entity::Assoc,
        "qos" | "qoss" | "qoses" => Entity::Qos,
        "event" | "events" => Entity::Event,
        _ => return None,
    })
}

fn int_value(key: &str, value: &str) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(v) if v >= -1 => Ok(v),
        _ => Err(format!(" Bad {key} value: {value}")),
    }
}

/// Checks a TRES list (`cpu=4,gres/gpu=2`, `-1` removes one) and writes it in lower case.
fn tres_value(key: &str, value: &str) -> Result<String, String> {
    let bad = || format!(" Invalid TRES for {key}: {value}");
    let mut out = Vec::new();
    for entry in value.split(',').filter(|e| !e.is_empty()) {
        let (name, count) = entry.split_once('=').ok_or_else(bad)?;
        let name = name.trim().to_ascii_lowercase();
        let known = ["cpu", "mem", "energy", "node", "billing"].contains(&name.as_str())
            || name.starts_with("gres/")
            || name.starts_with("license/");
        if !known || int_value(key, count.trim()).is_err() {
            return Err(bad());
        }
        out.push(format!("{name}={}", count.trim()));
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out.join(","))
}

/// A key without its `+`/`-` (from `Key+=a`, `Key-=a`) and the list change the value makes.
fn list_change(key: &str, value: &str) -> (String, ListChange) {
    let names = if value == "-1" || value.is_empty() || value == "''" {
        Vec::new()
    } else {
        super::split_list(value)
    };
    if let Some(k) = key.strip_suffix('+') {
        (k.to_owned(), ListChange::Add(names))
    } else if let Some(k) = key.strip_suffix('-') {
        (k.to_owned(), ListChange::Remove(names))
    } else {
        (key.to_owned(), ListChange::Set(names))
    }
}

/// MaxWall in minutes (`-1` or `UNLIMITED`: no limit).
fn wall_minutes(value: &str) -> Result<i64, String> {
    if value == "-1" {
        return Ok(-1);
    }
    match parse_time_limit(value) {
        Ok(TimeLimit::Infinite) => Ok(-1),
        Ok(t) => Ok(t
            .as_secs()
            .map_or(-1, |s| i64::try_from(s.div_ceil(60)).unwrap_or(i64::MAX))),
        Err(_) => Err(format!(" Bad MaxWall time format: {value}")),
    }
}

/// Sets a limit from `key=value`; `Ok(false)` when the key is not a limit.
fn limit(l: &mut AssocLimits, key: &str, value: &str) -> Result<bool, String> {
    let (base, change) = list_change(key, value);
    if matches!(base.as_str(), "qos" | "qoslevel") {
        l.qos = Some(change);
        return Ok(true);
    }
    if base != key {
        return Ok(false);
    }
    match key {
        "defaultqos" | "defqos" => {
            l.default_qos = Some(if value == "-1" {
                String::new()
            } else {
                value.to_owned()
            })
        }
        "fairshare" | "share" | "shares" => l.shares = Some(int_value("Fairshare", value)?),
        "grptres" => l.grp_tres = Some(tres_value("GrpTRES", value)?),
        "grpcpus" => l.grp_tres = Some(format!("cpu={}", int_value("GrpCPUs", value)?)),
        "grptresrunmins" => l.grp_tres_run_mins = Some(tres_value("GrpTRESRunMins", value)?),
        "grpcpurunmins" => {
            l.grp_tres_run_mins = Some(format!("cpu={}", int_value("GrpCPURunMins", value)?))
        }
        "grpjobs" => l.grp_jobs = Some(int_value("GrpJobs", value)?),
        "grpsubmitjobs" | "grpsubmit" => {
            l.grp_submit_jobs = Some(int_value("GrpSubmitJobs", value)?)
        }
        "maxjobs" => l.max_jobs = Some(int_value("MaxJobs", value)?),
        "maxsubmitjobs" | "maxsubmit" => {
            l.max_submit_jobs = Some(int_value("MaxSubmitJobs", value)?)
        }
        "maxwall" | "maxwalldurationperjob" => l.max_wall = Some(wall_minutes(value)?),
        "maxtresperjob" | "maxtres" | "maxtrespj" => {
            l.max_tres_per_job = Some(tres_value("MaxTRESPerJob", value)?)
        }
        "maxcpus" | "maxcpusperjob" => {
            l.max_tres_per_job = Some(format!("cpu={}", int_value("MaxCPUs", value)?))
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Sets a QOS setting from `key=value`; `Ok(false)` when the key is not one.
fn qos_setting(q: &mut QosSettings, key: &str, value: &str) -> Result<bool, String> {
    let (base, change) = list_change(key, value);
    match base.as_str() {
        "flags" => {
            let mut names = Vec::new();
            let given = match &change {
                ListChange::Set(n) | ListChange::Add(n) | ListChange::Remove(n) => n,
            };
            for n in given {
                let Some(f) = crate::dbd::qos::FLAGS
                    .iter()
                    .find(|f| f.eq_ignore_ascii_case(n))
                else {
                    return Err(format!(" Bad QOS flag: {n}"));
                };
                names.push((*f).to_owned());
            }
            q.flags = Some(match change {
                ListChange::Set(_) => ListChange::Set(names),
                ListChange::Add(_) => ListChange::Add(names),
                ListChange::Remove(_) => ListChange::Remove(names),
            });
            return Ok(true);
        }
        "preempt" => {
            q.preempt = Some(change);
            return Ok(true);
        }
        _ if base != key => return Ok(false),
        _ => {}
    }
    match key {
        "description" | "descr" => q.description = Some(value.to_owned()),
        "priority" => q.priority = Some(int_value("Priority", value)?),
        "gracetime" => q.grace_time = Some(int_value("GraceTime", value)?),
        "preemptmode" => {
            let mode = value.to_ascii_lowercase();
            if !crate::dbd::qos::PREEMPT_MODES.contains(&mode.as_str()) {
                return Err(format!(" Bad PreemptMode: {value}"));
            }
            q.preempt_mode = Some(mode);
        }
        "usagefactor" => {
            q.usage_factor_micros = Some(if value == "-1" {
                1_000_000
            } else {
                match value.parse::<f64>() {
                    Ok(f) if f >= 0.0 && f.is_finite() => (f * 1e6).round() as i64,
                    _ => return Err(format!(" Bad UsageFactor value: {value}")),
                }
            })
        }
        "maxtresperjob" | "maxtres" | "maxtrespj" => {
            q.max_tres_per_job = Some(tres_value("MaxTRESPerJob", value)?)
        }
        "maxcpus" | "maxcpusperjob" => {
            q.max_tres_per_job = Some(format!("cpu={}", int_value("MaxCPUs", value)?))
        }
        "maxtresperuser" | "maxtrespu" => {
            q.max_tres_per_user = Some(tres_value("MaxTRESPerUser", value)?)
        }
        "maxcpusperuser" | "maxcpuspu" => {
            q.max_tres_per_user = Some(format!("cpu={}", int_value("MaxCPUsPerUser", value)?))
        }
        "maxwall" | "maxwalldurationperjob" => q.max_wall = Some(wall_minutes(value)?),
        "maxjobs" | "maxjobsperuser" | "maxjobspu" => {
            q.max_jobs_per_user = Some(int_value("MaxJobsPerUser", value)?)
        }
        "maxsubmitjobs"
        | "maxsubmit"
        | "maxsubmitjobsperuser"
        | "maxsubmitjobspu"
        | "maxsubmitpu" => {
            q.max_submit_jobs_per_user = Some(int_value("MaxSubmitJobsPerUser", value)?)
        }
        "grptres" => q.grp_tres = Some(tres_value("GrpTRES", value)?),
        "grpcpus" => q.grp_tres = Some(format!("cpu={}", int_value("GrpCPUs", value)?)),
        "grpjobs" => q.grp_jobs = Some(int_value("GrpJobs", value)?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// The words of one command, sorted by what they say.
#[derive(Debug, Default)]
struct Words {
    names: Vec<String>,
    /// (lower-case key, value, after `set`)
    pairs: Vec<(String, String, bool)>,
}

fn split_words(words: &[String]) -> Words {
    let mut out = Words::default();
    let mut after_set = false;
    for w in words {
        match w.to_ascii_lowercase().as_str() {
            "where" => after_set = false,
            "set" => after_set = true,
            _ => match w.split_once('=') {
                Some((k, v)) => {
                    let key = k.trim().to_ascii_lowercase();
                    let v = v.trim().trim_matches('"').to_owned();
                    if matches!(key.as_str(), "name" | "names") {
                        out.names.extend(super::split_list(&v));
                    } else {
                        out.pairs.push((key, v, after_set));
                    }
                }
                None => out.names.extend(super::split_list(w)),
            },
        }
    }
    out
}

/// Node events are recorded by the controller, never changed by hand.
const EVENTS_ARE_LISTED: &str = " Events can only be listed";

fn unknown(key: &str) -> String {
    format!(" Unknown option: {key}")
}

/// Parses a command line (after the program name).
pub fn parse_args(args: &[String]) -> Step<Args> {
    let mut flags = Flags::default();
    let mut rest = Vec::new();
    for a in args {
        match a.as_str() {
            "--immediate" => flags.immediate = true,
            "--noheader" => flags.no_header = true,
            "--parsable" => flags.parsable = Some(true),
            "--parsable2" => flags.parsable = Some(false),
            "--associations" => flags.with_assocs = true,
            "-h" | "--help" | "--usage" => return Step::Exit(Output::ok(HELP)),
            "-V" | "--version" => return Step::Exit(common::version()),
            s if s.starts_with('-') && !s.starts_with("--") && s.len() > 1 => {
                for c in s[1..].chars() {
                    match c {
                        'i' => flags.immediate = true,
                        'n' => flags.no_header = true,
                        'p' => flags.parsable = Some(true),
                        'P' => flags.parsable = Some(false),
                        's' => flags.with_assocs = true,
                        _ => {
                            let mut out = refuse(format!("{PROG}: invalid option -- '{c}'"));
                            out.err_line(format!("Try \"{PROG} --help\" for more information"));
                            return Step::Exit(out);
                        }
                    }
                }
            }
            s if s.starts_with("--") => {
                let mut out = refuse(format!("{PROG}: unrecognized option '{s}'"));
                out.err_line(format!("Try \"{PROG} --help\" for more information"));
                return Step::Exit(out);
            }
            _ => rest.push(a.clone()),
        }
    }
    let Some(verb) = rest.first() else {
        return Step::Exit(Output::ok(HELP));
    };
    let Some(what) = rest.get(1).and_then(|w| entity(w)) else {
        return Step::Exit(refuse(format!(
            " Unknown or missing entity to {verb}: {}",
            rest.get(1).map_or("", String::as_str)
        )));
    };
    let words = split_words(&rest[2..]);
    let verb_lower = verb.to_ascii_lowercase();
    if what == Entity::Event {
        let command = match verb_lower.as_str() {
            "show" | "list" => {
                let now = super::now();
                events::parse(
                    &words.names,
                    &words.pairs,
                    now,
                    super::tz::local_offset(now),
                )
                .map(Command::Events)
            }
            _ => Err(EVENTS_ARE_LISTED.to_owned()),
        };
        return match command {
            Ok(command) => Step::Run(Args { flags, command }),
            Err(e) => Step::Exit(refuse(e)),
        };
    }
    let command = match verb_lower.as_str() {
        "add" | "create" => parse_add(what, words),
        "modify" | "update" => parse_modify(what, words),
        "delete" | "remove" => parse_delete(what, words),
        "show" | "list" => parse_show(what, words, flags.with_assocs),
        other => Err(format!(" Unknown command '{other}'")),
    };
    match command {
        Ok(command) => Step::Run(Args { flags, command }),
        Err(e) => Step::Exit(refuse(e)),
    }
}

fn parse_add(what: Entity, words: Words) -> Result<Command, String> {
    if words.names.is_empty() {
        return Err(" Need name of object to add.".to_owned());
    }
    let mut limits = AssocLimits::default();
    let op = match what {
        Entity::Event => return Err(EVENTS_ARE_LISTED.to_owned()),
        Entity::Cluster => {
            if let Some((k, _, _)) = words.pairs.first() {
                return Err(unknown(k));
            }
            MgrOp::AddClusters { names: words.names }
        }
        Entity::Account => {
            let (mut description, mut organization, mut parent) = (None, None, None);
            for (k, v, _) in &words.pairs {
                match k.as_str() {
                    "description" | "descr" => description = Some(v.clone()),
                    "organization" | "org" => organization = Some(v.clone()),
                    "parent" => parent = Some(v.clone()),
                    _ if limit(&mut limits, k, v)? => {}
                    _ => return Err(unknown(k)),
                }
            }
            MgrOp::AddAccounts {
                names: words.names,
                description,
                organization,
                parent,
                limits,
            }
        }
        Entity::User => {
            let (mut accounts, mut default_account, mut admin_level) = (Vec::new(), None, None);
            let mut partitions = Vec::new();
            for (k, v, _) in &words.pairs {
                match k.as_str() {
                    "account" | "accounts" => accounts.extend(super::split_list(v)),
                    "defaultaccount" => default_account = Some(v.clone()),
                    "adminlevel" => admin_level = Some(v.clone()),
                    "partition" | "partitions" => partitions.extend(super::split_list(v)),
                    _ if limit(&mut limits, k, v)? => {}
                    _ => return Err(unknown(k)),
                }
            }
            MgrOp::AddUsers {
                names: words.names,
                accounts,
                default_account,
                admin_level,
                limits,
                partitions,
            }
        }
        Entity::Qos => {
            let mut settings = QosSettings::default();
            for (k, v, _) in &words.pairs {
                if !qos_setting(&mut settings, k, v)? {
                    return Err(unknown(k));
                }
            }
            MgrOp::AddQos {
                names: words.names,
                settings,
            }
        }
        Entity::Assoc => return Err(" Add associations with 'add user NAME Account=A'".into()),
    };
    Ok(Command::Change(op))
}

fn parse_modify(what: Entity, words: Words) -> Result<Command, String> {
    let mut limits = AssocLimits::default();
    let mut settings = QosSettings::default();
    let mut accounts = Vec::new();
    let mut partitions = Vec::new();
    let (mut description, mut organization, mut default_account, mut admin_level) =
        (None, None, None, None);
    for (k, v, after_set) in &words.pairs {
        match (what, k.as_str(), after_set) {
            (Entity::Qos, _, true) if qos_setting(&mut settings, k, v)? => {}
            (Entity::Qos, _, _) => return Err(unknown(k)),
            (Entity::User, "account" | "accounts", false) => accounts.extend(super::split_list(v)),
            (Entity::User, "partition" | "partitions", false) => {
                partitions.extend(super::split_list(v))
            }
            (Entity::Account, "description" | "descr", true) => description = Some(v.clone()),
            (Entity::Account, "organization" | "org", true) => organization = Some(v.clone()),
            (Entity::User, "defaultaccount", true) => default_account = Some(v.clone()),
            (Entity::User, "adminlevel", true) => admin_level = Some(v.clone()),
            (_, _, true) if limit(&mut limits, k, v)? => {}
            _ => return Err(unknown(k)),
        }
    }
    if words.names.is_empty() {
        return Err(" No conditions given".to_owned());
    }
    let op = match what {
        Entity::Account => {
            if description.is_none() && organization.is_none() && limits.is_empty() {
                return Err(" Nothing to set".to_owned());
            }
            MgrOp::ModifyAccounts {
                names: words.names,
                description,
                organization,
                limits,
            }
        }
        Entity::User => {
            if default_account.is_none() && admin_level.is_none() && limits.is_empty() {
                return Err(" Nothing to set".to_owned());
            }
            MgrOp::ModifyUsers {
                names: words.names,
                accounts,
                default_account,
                admin_level,
                limits,
                partitions,
            }
        }
        Entity::Qos => {
            if settings.is_empty() {
                return Err(" You didn't give me anything to set".to_owned());
            }
            MgrOp::ModifyQos {
                names: words.names,
                settings,
            }
        }
        _ => return Err(" Modify account, user or qos".to_owned()),
    };
    Ok(Command::Change(op))
}

fn parse_delete(what: Entity, words: Words) -> Result<Command, String> {
    if let Some((k, _, _)) = words.pairs.first() {
        return Err(unknown(k));
    }
    if words.names.is_empty() {
        return Err(" No conditions given to remove, not executing.".to_owned());
    }
    let names = words.names;
    Ok(Command::Change(match what {
        Entity::Account => MgrOp::DeleteAccounts { names },
        Entity::User => MgrOp::DeleteUsers { names },
        Entity::Qos => MgrOp::DeleteQos { names },
        _ => return Err(" Delete account, user or qos".to_owned()),
    }))
}

fn parse_show(what: Entity, mut words: Words, with_assocs: bool) -> Result<Command, String> {
    let mut format = None;
    // Bare keywords.
    let mut with_subaccounts = false;
    let mut with_assocs = with_assocs;
    words
        .names
        .retain(|n| match n.to_ascii_lowercase().as_str() {
            "withsubaccounts" | "withsubaccount" | "withsubacct" | "withsubaccts" => {
                with_subaccounts = true;
                false
            }
            "withassoc" | "withassocs" | "withassociations" => {
                with_assocs = true;
                false
            }
            _ => true,
        });
    let mut query = MgrQuery {
        entity: match what {
            Entity::Cluster => MgrEntity::Clusters,
            Entity::Account => MgrEntity::Accounts,
            Entity::User => MgrEntity::Users,
            Entity::Assoc => MgrEntity::Assocs,
            Entity::Qos => MgrEntity::Qos,
            Entity::Event => return Err(EVENTS_ARE_LISTED.to_owned()),
        },
        names: words.names,
        users: Vec::new(),
        accounts: Vec::new(),
        partitions: Vec::new(),
        with_subaccounts,
        with_assocs: with_assocs && matches!(what, Entity::User | Entity::Account),
    };
    let mut clusters = Vec::new();
    for (k, v, _) in &words.pairs {
        match (what, k.as_str()) {
            (_, "format") => format = Some(v.clone()),
            (Entity::Assoc, "user" | "users") => query.users.extend(super::split_list(v)),
            (Entity::Assoc, "account" | "accounts") => query.accounts.extend(super::split_list(v)),
            (Entity::Assoc, "partition" | "partitions") => {
                query.partitions.extend(super::split_list(v))
            }
            (Entity::Assoc | Entity::User | Entity::Account, "cluster" | "clusters") => {
                clusters.extend(super::split_list(v))
            }
            _ => return Err(unknown(k)),
        }
    }
    if what == Entity::Assoc && !query.names.is_empty() {
        return Err(unknown(&query.names[0]));
    }
    let default = match what {
        Entity::Cluster => CLUSTER_FORMAT,
        Entity::Account if query.with_assocs => ACCOUNT_ASSOC_FORMAT,
        Entity::Account => ACCOUNT_FORMAT,
        Entity::User if query.with_assocs => USER_ASSOC_FORMAT,
        Entity::User => USER_FORMAT,
        Entity::Assoc => ASSOC_FORMAT,
        Entity::Qos => QOS_FORMAT,
        Entity::Event => return Err(EVENTS_ARE_LISTED.to_owned()),
    };
    let columns = parse_format(format.as_deref().unwrap_or(default))?;
    Ok(Command::Show {
        query,
        columns,
        clusters,
    })
}

// ----- output -----

/// A title line, then each of `items` on its own indented line (`  name`).
fn out_list(out: &mut Output, title: &str, items: &[String]) {
    out.out_line(title);
    for item in items {
        out.out_line(format!("  {item}"));
    }
}

/// What a change printed (and its exit status).
pub fn change_text(op: &MgrOp, reply: &MgrReply) -> Output {
    if let Some(e) = &reply.error {
        return refuse(e);
    }
    let mut out = Output::default();
    let none = |text: &str| Output {
        stdout: format!(" {text}\n"),
        code: 1,
        ..Output::default()
    };
    let limit_lines = |out: &mut Output, l: &AssocLimits| {
        let mut line = |name: &str, value: String| out.out_line(format!("  {name:<14}= {value}"));
        if let Some(v) = l.shares {
            line("Fairshare", v.to_string());
        }
        if let Some(v) = &l.grp_tres {
            line("GrpTRES", v.clone());
        }
        if let Some(v) = &l.grp_tres_run_mins {
            line("GrpTRESRunMins", v.clone());
        }
        for (name, v) in [
            ("GrpJobs", l.grp_jobs),
            ("GrpSubmitJobs", l.grp_submit_jobs),
            ("MaxJobs", l.max_jobs),
            ("MaxSubmitJobs", l.max_submit_jobs),
        ] {
            if let Some(v) = v {
                line(name, v.to_string());
            }
        }
        if let Some(v) = &l.max_tres_per_job {
            line("MaxTRESPerJob", v.clone());
        }
        if let Some(v) = l.max_wall {
            line("MaxWall", wall(u32::try_from(v).ok()));
        }
        if let Some(c) = &l.qos {
            line("QOS", list_change_text(c));
        }
        if let Some(d) = &l.default_qos {
            line("DefQOS", d.clone());
        }
    };
    match op {
        MgrOp::AddClusters { .. } => {
            if reply.objects.is_empty() {
                return none("Nothing new added.");
            }
            out.out_line(" Adding Cluster(s)");
            for c in &reply.objects {
                out.out_line(format!("  Name          = {c}"));
            }
        }
        MgrOp::AddAccounts {
            description,
            organization,
            parent,
            limits,
            ..
        } => {
            if reply.objects.is_empty() && reply.assocs.is_empty() {
                return none("Nothing new added.");
            }
            if !reply.objects.is_empty() {
                out_list(&mut out, " Adding Account(s)", &reply.objects);
                out.out_line(" Settings");
                out.out_line(format!(
                    "  Description     = {}",
                    description.as_deref().unwrap_or("Account Name")
                ));
                out.out_line(format!(
                    "  Organization    = {}",
                    organization.as_deref().unwrap_or("Parent/Account Name")
                ));
            }
            if !reply.assocs.is_empty() {
                out.out_line(" Associations");
                for a in &reply.assocs {
                    out.out_line(format!(
                        "  A = {:<10.10} C = {:<10.10}",
                        a.account, a.cluster
                    ));
                }
                out.out_line(" Settings");
                out.out_line(format!(
                    "  {:<14}= {}",
                    "Parent",
                    parent.as_deref().unwrap_or("root")
                ));
                limit_lines(&mut out, limits);
            }
        }
        MgrOp::AddUsers {
            accounts,
            default_account,
            limits,
            ..
        } => {
            if reply.objects.is_empty() && reply.assocs.is_empty() {
                return none("Nothing new added.");
            }
            if !reply.objects.is_empty() {
                out_list(&mut out, " Adding User(s)", &reply.objects);
                out.out_line(" Settings =");
                let default = default_account
                    .as_deref()
                    .or(accounts.first().map(String::as_str))
                    .unwrap_or("");
                out.out_line(format!("  Default Account = {default}"));
            }
            if !reply.assocs.is_empty() {
                out.out_line(" Associations =");
                for a in &reply.assocs {
                    let mut l = format!(
                        "  U = {:<9.9} A = {:<10.10} C = {:<10.10}",
                        a.user, a.account, a.cluster
                    );
                    if !a.partition.is_empty() {
                        l.push_str(&format!(" P = {:<10.10}", a.partition));
                    }
                    out.out_line(l);
                }
                if !limits.is_empty() {
                    out.out_line(" Non Default Settings");
                    limit_lines(&mut out, limits);
                }
            }
        }
        MgrOp::ModifyAccounts { .. } | MgrOp::ModifyUsers { .. } => {
            let users = matches!(op, MgrOp::ModifyUsers { .. });
            if reply.objects.is_empty() && reply.assocs.is_empty() {
                return none("Nothing modified");
            }
            if !reply.objects.is_empty() {
                out_list(
                    &mut out,
                    if users {
                        " Modified users..."
                    } else {
                        " Modified accounts..."
                    },
                    &reply.objects,
                );
            }
            if !reply.assocs.is_empty() {
                out.out_line(if users {
                    " Modified user associations..."
                } else {
                    " Modified account associations..."
                });
                for a in &reply.assocs {
                    out.out_line(assoc_key(a));
                }
            }
        }
        MgrOp::DeleteAccounts { .. } | MgrOp::DeleteUsers { .. } => {
            if reply.objects.is_empty() {
                return none("Nothing deleted");
            }
            out_list(
                &mut out,
                if matches!(op, MgrOp::DeleteUsers { .. }) {
                    " Deleting users..."
                } else {
                    " Deleting accounts..."
                },
                &reply.objects,
            );
        }
        MgrOp::AddQos { settings, .. } => {
            if reply.objects.is_empty() {
                return none("Nothing new added.");
            }
            out_list(&mut out, " Adding QOS(s)", &reply.objects);
            out.out_line(" Settings");
            out.out_line(format!(
                "  Description    = {}",
                settings.description.as_deref().unwrap_or("QOS Name")
            ));
            qos_limit_lines(&mut out, settings);
        }
        MgrOp::ModifyQos { .. } => {
            if reply.objects.is_empty() {
                return none("Nothing modified");
            }
            out_list(&mut out, " Modified qos...", &reply.objects);
        }
        MgrOp::DeleteQos { .. } => {
            if reply.objects.is_empty() {
                return none("Nothing deleted");
            }
            out_list(&mut out, " Deleting QOS(s)...", &reply.objects);
        }
    }
    out
}

/// A list change as sacctmgr echoes it: `a,b`, `+a`, `-a`.
fn list_change_text(c: &ListChange) -> String {
    match c {
        ListChange::Set(n) => n.join(","),
        ListChange::Add(n) => n
            .iter()
            .map(|x| format!("+{x}"))
            .collect::<Vec<_>>()
            .join(","),
        ListChange::Remove(n) => n
            .iter()
            .map(|x| format!("-{x}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The settings of an added QOS, as `sacctmgr_print_qos_limits` lists them.
fn qos_limit_lines(out: &mut Output, s: &QosSettings) {
    let num = |v: i64| {
        if v < 0 {
            "NONE".to_owned()
        } else {
            v.to_string()
        }
    };
    let mut lines: Vec<(&str, String)> = Vec::new();
    if let Some(f) = &s.flags {
        lines.push(("Flags", list_change_text(f)));
    }
    if let Some(g) = s.grace_time {
        lines.push(("GraceTime", num(g)));
    }
    if let Some(v) = s.grp_jobs {
        lines.push(("GrpJobs", num(v)));
    }
    if let Some(t) = &s.grp_tres {
        lines.push(("GrpTRES", t.clone()));
    }
    if let Some(v) = s.max_jobs_per_user {
        lines.push(("MaxJobsPerUser", num(v)));
    }
    if let Some(v) = s.max_submit_jobs_per_user {
        lines.push(("MaxSubmitJobsPerUser", num(v)));
    }
    if let Some(t) = &s.max_tres_per_job {
        lines.push(("MaxTRESPerJob", t.clone()));
    }
    if let Some(t) = &s.max_tres_per_user {
        lines.push(("MaxTRESPerUser", t.clone()));
    }
    if let Some(v) = s.max_wall {
        let text = if v < 0 {
            "NONE".to_owned()
        } else {
            wall(u32::try_from(v).ok())
        };
        lines.push(("MaxWall", text));
    }
    if let Some(p) = &s.preempt {
        lines.push(("Preempt", list_change_text(p)));
    }
    if let Some(m) = &s.preempt_mode {
        lines.push(("PreemptMode", m.to_ascii_uppercase()));
    }
    if let Some(p) = s.priority {
        lines.push(("Priority", num(p)));
    }
    if let Some(u) = s.usage_factor_micros {
        lines.push(("UsageFactor", format!("{:.4}", u as f64 / 1e6)));
    }
    for (name, value) in lines {
        if name == "MaxJobsPerUser" {
            // (Slurm prints this one without the padding.)
            out.out_line(format!("  {name} = {value}"));
        } else {
            out.out_line(format!("  {name:<25}= {value}"));
        }
    }
}

/// How a modified association is listed (the dbd's `C = … A = … U = …`).
fn assoc_key(a: &Assoc) -> String {
    let mut s = format!("  C = {:<10} A = {:<20}", a.cluster, a.account);
    if !a.user.is_empty() {
        s.push_str(&format!(" U = {:<9}", a.user));
        if !a.partition.is_empty() {
            s.push_str(&format!(" P = {}", a.partition));
        }
    }
    s
}

/// Minutes as Slurm prints a time limit: `[D-]HH:MM:00`.
fn wall(mins: Option<u32>) -> String {
    match mins {
        None => String::new(),
        Some(m) => {
            let (d, h, m) = (m / 1440, (m % 1440) / 60, m % 60);
            if d > 0 {
                format!("{d}-{h:02}:{m:02}:00")
            } else {
                format!("{h:02}:{m:02}:00")
            }
        }
    }
}

fn num(v: Option<u32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Where the local cluster's controller is (for `show cluster`).
#[derive(Debug, Clone, Default)]
pub struct Local {
    pub cluster: String,
    pub host: String,
    pub port: u16,
}

enum Row<'a> {
    Cluster(&'a str),
    Account(&'a Account),
    User(&'a AcctUser),
    Assoc(&'a Assoc),
    Qos(&'a Qos),
    /// `show user -s`: a user with one of its associations.
    UserAssoc(&'a AcctUser, &'a Assoc),
    /// `show account -s`: an account with one of its associations.
    AccountAssoc(&'a Account, &'a Assoc),
}

/// Seconds as Slurm prints a duration: `[D-]HH:MM:SS`.
fn secs_text(secs: u32) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        (secs % 86_400) / 3600,
        (secs % 3600) / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// A QOS list as sacctmgr prints it: names in alphabetical order.
fn qos_list_text(list: &str) -> String {
    let mut names: Vec<&str> = list.split(',').filter(|s| !s.is_empty()).collect();
    names.sort_unstable();
    names.join(",")
}

fn qos_value(q: &Qos, field: Field) -> String {
    match field {
        Field::Name => q.name.clone(),
        Field::Descr => q.description.clone(),
        Field::Priority => q.priority.to_string(),
        Field::GraceTime => secs_text(q.grace_time),
        Field::Preempt => qos_list_text(&q.preempt.join(",")),
        Field::PreemptMode => q.preempt_mode.clone(),
        Field::Flags => q.flags.clone(),
        Field::UsageFactor => format!(
            "{}.{:06}",
            q.usage_factor_micros / 1_000_000,
            q.usage_factor_micros % 1_000_000
        ),
        Field::GrpTres => q.grp_tres.clone(),
        Field::GrpJobs => num(q.grp_jobs),
        Field::MaxTres => q.max_tres_per_job.clone(),
        Field::MaxWall => wall(q.max_wall),
        Field::MaxTresPu => q.max_tres_per_user.clone(),
        Field::MaxJobsPu => num(q.max_jobs_per_user),
        Field::MaxSubmitPu => num(q.max_submit_jobs_per_user),
        _ => String::new(),
    }
}

fn value(row: &Row<'_>, field: Field, local: &Local) -> String {
    match (row, field) {
        (Row::Cluster(c), Field::Cluster) => (*c).to_owned(),
        (Row::Cluster(c), Field::ControlHost) if *c == local.cluster => local.host.clone(),
        (Row::Cluster(c), Field::ControlPort) if *c == local.cluster => local.port.to_string(),
        (Row::Cluster(c), Field::Rpc) if *c == local.cluster => RPC_VERSION.to_owned(),
        (Row::Account(a), Field::Account) => a.name.clone(),
        (Row::Account(a), Field::Descr) => a.description.clone(),
        (Row::Account(a), Field::Org) => a.organization.clone(),
        (Row::Account(a), Field::ParentName) => a.parent.clone(),
        (Row::User(u), Field::User) => u.name.clone(),
        (Row::User(u), Field::DefAcct) => u.default_account.clone(),
        (Row::User(u), Field::Admin) => u.admin_level.clone(),
        (Row::Assoc(a), f) => match f {
            Field::Cluster => a.cluster.clone(),
            Field::Account => a.account.clone(),
            Field::User => a.user.clone(),
            Field::Partition => a.partition.clone(),
            Field::ParentName => a.parent.clone(),
            Field::Share => a.shares.to_string(),
            Field::GrpTres => a.grp_tres.clone(),
            Field::GrpTresRunMins => a.grp_tres_run_mins.clone(),
            Field::GrpJobs => num(a.grp_jobs),
            Field::GrpSubmit => num(a.grp_submit_jobs),
            Field::MaxJobs => num(a.max_jobs),
            Field::MaxSubmit => num(a.max_submit_jobs),
            Field::MaxWall => wall(a.max_wall),
            Field::MaxTres => a.max_tres_per_job.clone(),
            Field::Qos => qos_list_text(&a.qos),
            Field::DefQos => a.default_qos.clone(),
            _ => String::new(),
        },
        (Row::Qos(q), f) => qos_value(q, f),
        (Row::UserAssoc(u, a), f) => match f {
            Field::User | Field::DefAcct | Field::Admin => value(&Row::User(u), f, local),
            _ => value(&Row::Assoc(a), f, local),
        },
        (Row::AccountAssoc(acct, a), f) => match f {
            Field::Account | Field::Descr | Field::Org => value(&Row::Account(acct), f, local),
            _ => value(&Row::Assoc(a), f, local),
        },
        _ => String::new(),
    }
}

/// `sacctmgr show ...` as Slurm prints it.
pub fn render_show(
    list: &MgrList,
    columns: &[Column],
    clusters: &[String],
    flags: Flags,
    local: &Local,
) -> Output {
    let mut out = String::new();
    header(&mut out, columns, flags);
    let in_cluster = |a: &&Assoc| clusters.is_empty() || clusters.contains(&a.cluster);
    let mut rows: Vec<Row<'_>> = list.clusters.iter().map(|c| Row::Cluster(c)).collect();
    let with_assocs =
        !list.assocs.is_empty() && (!list.users.is_empty() || !list.accounts.is_empty());
    if with_assocs {
        // `-s`: one line per association of each user or account (the bare entity when it
        // has none).
        for acct in &list.accounts {
            let mine: Vec<&Assoc> = list
                .assocs
                .iter()
                .filter(in_cluster)
                .filter(|a| a.account == acct.name)
                .collect();
            if mine.is_empty() {
                rows.push(Row::Account(acct));
            }
            rows.extend(mine.into_iter().map(|a| Row::AccountAssoc(acct, a)));
        }
        for user in &list.users {
            let mine: Vec<&Assoc> = list
                .assocs
                .iter()
                .filter(in_cluster)
                .filter(|a| a.user == user.name)
                .collect();
            if mine.is_empty() {
                rows.push(Row::User(user));
            }
            rows.extend(mine.into_iter().map(|a| Row::UserAssoc(user, a)));
        }
    } else {
        rows.extend(list.accounts.iter().map(Row::Account));
        rows.extend(list.users.iter().map(Row::User));
        rows.extend(list.assocs.iter().filter(in_cluster).map(Row::Assoc));
    }
    rows.extend(list.qos.iter().map(Row::Qos));
    for row in rows {
        let values: Vec<String> = columns
            .iter()
            .map(|c| value(&row, c.field, local))
            .collect();
        line(&mut out, &values, columns, flags);
    }
    Output::ok(out)
}

// ----- running -----

/// Slurm's wording when the dbd cannot be reached.
pub const DB_PROBLEM: &str = "Problem talking to the database";

enum CallError {
    Setup(String),
    Db(String),
}

async fn client(
    cluster: &ClusterConfig,
) -> Result<(SlurmDbdClient<tonic::transport::Channel>, CredentialSource), CallError> {
    let credentials =
        CredentialSource::for_commands(cluster).map_err(|e| CallError::Setup(e.to_string()))?;
    let connect_timeout = Duration::from_secs(cluster.timers.message_timeout.max(1));
    let endpoint = crate::client::dbd_endpoint(cluster, connect_timeout)
        .map_err(|e| CallError::Setup(e.to_string()))?;
    let channel = crate::client::connect_daemon(&endpoint)
        .await
        .map_err(|e| match e {
            ClientError::Connect { .. } => CallError::Db("Connection refused".to_owned()),
            other => CallError::Db(other.to_string()),
        })?;
    Ok((SlurmDbdClient::new(channel), credentials))
}

fn timeout(cluster: &ClusterConfig) -> Duration {
    Duration::from_secs(cluster.timers.message_timeout.max(1).saturating_mul(6))
}

async fn change(cluster: &ClusterConfig, req: MgrRequest) -> Result<MgrReply, CallError> {
    let (mut c, creds) = client(cluster).await?;
    let request = creds
        .authed(req)
        .await
        .map_err(|e| CallError::Setup(e.to_string()))?;
    match tokio::time::timeout(timeout(cluster), c.modify_accounting(request)).await {
        Ok(Ok(reply)) => Ok(reply.into_inner()),
        Ok(Err(status)) => Err(CallError::Db(RpcError::from(status).to_string())),
        Err(_) => Err(CallError::Db(rpc::TIMED_OUT.to_owned())),
    }
}

async fn show_events(
    cluster: &ClusterConfig,
    q: crate::proto::EventQuery,
) -> Result<crate::proto::EventList, CallError> {
    let (mut c, creds) = client(cluster).await?;
    let request = creds
        .authed(q)
        .await
        .map_err(|e| CallError::Setup(e.to_string()))?;
    match tokio::time::timeout(timeout(cluster), c.query_events(request)).await {
        Ok(Ok(reply)) => Ok(reply.into_inner()),
        Ok(Err(status)) => Err(CallError::Db(RpcError::from(status).to_string())),
        Err(_) => Err(CallError::Db(rpc::TIMED_OUT.to_owned())),
    }
}

async fn show(cluster: &ClusterConfig, q: MgrQuery) -> Result<MgrList, CallError> {
    let (mut c, creds) = client(cluster).await?;
    let request = creds
        .authed(q)
        .await
        .map_err(|e| CallError::Setup(e.to_string()))?;
    match tokio::time::timeout(timeout(cluster), c.show_accounting(request)).await {
        Ok(Ok(reply)) => Ok(reply.into_inner()),
        Ok(Err(status)) => Err(CallError::Db(RpcError::from(status).to_string())),
        Err(_) => Err(CallError::Db(rpc::TIMED_OUT.to_owned())),
    }
}

fn failure(e: CallError) -> Output {
    match e {
        CallError::Db(e) => error(format!("{DB_PROBLEM}: {e}")),
        CallError::Setup(e) => error(e),
    }
}

/// Asks Slurm's question on stdout; true if the answer starts with `y`.
fn confirm() -> bool {
    use std::io::Write;
    print!("Would you like to commit changes? (You have 30 seconds to decide)\n(N/y): ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    answer.trim_start().starts_with(['y', 'Y'])
}

/// Runs `sacctmgr`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match super::utf8_args(PROG, args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    let parsed = match parse_args(&args) {
        Step::Run(a) => a,
        Step::Exit(out) => return out.emit(),
    };
    let cluster = match rpc::load_config() {
        Ok(c) => c,
        Err(e) => return error(e).emit(),
    };
    if cluster.accounting.storage != AccountingStorage::Slurmdbd {
        return error("Slurm accounting storage is disabled").emit();
    }
    let out = match parsed.command {
        Command::Events(mut cmd) => {
            if cmd.query.clusters.is_empty() && !cmd.all_clusters {
                cmd.query.clusters.push(cluster.cluster_name.clone());
            }
            match rpc::block_on(show_events(&cluster, cmd.query.clone())) {
                Ok(Ok(list)) => {
                    let tz = super::tz::local_offset(list.now);
                    Output::ok(events::render(&list, &cmd, parsed.flags, tz))
                }
                Ok(Err(e)) => failure(e),
                Err(e) => error(e),
            }
        }
        Command::Show {
            query,
            columns,
            clusters,
        } => {
            let local = Local {
                cluster: cluster.cluster_name.clone(),
                host: cluster
                    .controller_hosts
                    .first()
                    .map(|h| h.addr.clone().unwrap_or_else(|| h.name.clone()))
                    .unwrap_or_default(),
                port: cluster.controller_port,
            };
            match rpc::block_on(show(&cluster, query)) {
                Ok(Ok(list)) => render_show(&list, &columns, &clusters, parsed.flags, &local),
                Ok(Err(e)) => failure(e),
                Err(e) => error(e),
            }
        }
        Command::Change(op) => {
            let mut req = MgrRequest {
                cluster: cluster.cluster_name.clone(),
                commit: parsed.flags.immediate,
                op,
            };
            match rpc::block_on(change(&cluster, req.clone())) {
                Ok(Ok(reply)) => {
                    let out = change_text(&req.op, &reply);
                    if parsed.flags.immediate || out.code != 0 {
                        out
                    } else {
                        out.clone().emit();
                        if confirm() {
                            req.commit = true;
                            match rpc::block_on(change(&cluster, req.clone())) {
                                Ok(Ok(reply)) if reply.error.is_none() => Output::default(),
                                Ok(Ok(reply)) => change_text(&req.op, &reply),
                                Ok(Err(e)) => failure(e),
                                Err(e) => error(e),
                            }
                        } else {
                            Output::ok(" Changes Discarded\n")
                        }
                    }
                }
                Ok(Err(e)) => failure(e),
                Err(e) => error(e),
            }
        }
    };
    out.emit()
}

const HELP: &str = "\
sacctmgr [<OPTION>] [<COMMAND>]
    Valid <OPTION> values are:
     -h or --help: equivalent to \"help\" command
     -i or --immediate: commit changes immediately
     -n or --noheader: no header will be added to the beginning of output
     -p or --parsable: output will be '|' delimited with a '|' at the end
     -P or --parsable2: output will be '|' delimited without a '|' at the end
     -s or --associations: with show user or show account, their associations
     -V or --version: equivalent to \"version\" command

    Valid <COMMAND> values are:
     add|create <ENTITY> <SPECS>: add entity
     delete|remove <ENTITY> where <SPECS>: delete the specified entity(s)
     list|show <ENTITY> [<SPECS>]: display info about the specific entity(s)
     modify|update <ENTITY> where <SPECS> set <SPECS>: modify entity

  <ENTITY> may be \"account\", \"association\", \"cluster\", \"event\", \"qos\"
  or \"user\".

  <SPECS> are different for each command entity pair.
       list account       - Descriptions=, Format=, Names=, Organizations=
       add account        - Description=, Fairshare=, GrpTRES=, GrpJobs=,
                            GrpSubmitJobs=, GrpTRESRunMins=, MaxJobs=,
                            MaxSubmitJobs=, MaxTRESPerJob=, MaxWall=,
                            Names=, Organization=, Parent=
       modify account     - (set options) Description=, Organization=,
                            and the limits of add account
                            (where options) Names=
       delete account     - Names=

       list associations  - Accounts=, Clusters=, Format=, Partitions=, Users=,
                            WithSubaccounts
       list cluster       - Format=, Names=
       add cluster        - Name=
       list user          - Format=, Names=
       add user           - Accounts=, AdminLevel=, DefaultAccount=,
                            Names=, Partitions=, and the limits of add account
                            (with DefaultQOS= and QOS=, QOS+=, QOS-=)
       modify user        - (set options) AdminLevel=, DefaultAccount=,
                            and the limits of add account
                            (where options) Accounts=, Names=, Partitions=
       delete user        - Names=

       list events        - All_Clusters, All_Time, Clusters=, CondFlags=Open,
                            End=, Event=, Format=, Nodes=, Reason=, Start=,
                            States=, User=

       list qos           - Format=, Names=
       add qos            - Description=, Flags=, GraceTime=, GrpJobs=,
                            GrpTRES=, MaxJobsPerUser=, MaxSubmitJobsPerUser=,
                            MaxTRESPerJob=, MaxTRESPerUser=, MaxWall=, Names=,
                            Preempt=, PreemptMode=, Priority=, UsageFactor=
       modify qos         - (set options) the options of add qos
                            (Flags and Preempt also with += and -=)
                            (where options) Names=
       delete qos         - Names=
";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Args {
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        match parse_args(&words) {
            Step::Run(a) => a,
            Step::Exit(out) => panic!("{line}: {out:?}"),
        }
    }

    fn op(line: &str) -> MgrOp {
        match parse(line).command {
            Command::Change(op) => op,
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn qos_commands() {
        let MgrOp::AddQos { names, settings } = op(
            "-i add qos high Priority=100 Preempt=normal PreemptMode=requeue GraceTime=120 \
             UsageFactor=2.5 MaxTRESPerJob=gres/gpu=8 MaxTRESPerUser=gres/gpu=16 MaxWall=2-00:00:00 \
             MaxJobsPerUser=10 MaxSubmitJobsPerUser=20 GrpTRES=gres/gpu=32 GrpJobs=50 Flags=DenyOnLimit",
        ) else {
            panic!()
        };
        assert_eq!(names, ["high"]);
        assert_eq!(settings.priority, Some(100));
        assert_eq!(
            settings.preempt,
            Some(ListChange::Set(vec!["normal".into()]))
        );
        assert_eq!(settings.preempt_mode.as_deref(), Some("requeue"));
        assert_eq!(settings.grace_time, Some(120));
        assert_eq!(settings.usage_factor_micros, Some(2_500_000));
        assert_eq!(settings.max_tres_per_job.as_deref(), Some("gres/gpu=8"));
        assert_eq!(settings.max_wall, Some(2 * 1440));
        assert_eq!(
            settings.flags,
            Some(ListChange::Set(vec!["DenyOnLimit".into()]))
        );
        let MgrOp::ModifyQos { names, settings } =
            op("modify qos where name=high set Preempt+=low Flags-=denyonlimit")
        else {
            panic!()
        };
        assert_eq!(names, ["high"]);
        assert_eq!(settings.preempt, Some(ListChange::Add(vec!["low".into()])));
        assert_eq!(
            settings.flags,
            Some(ListChange::Remove(vec!["DenyOnLimit".into()]))
        );
        assert_eq!(
            op("delete qos high"),
            MgrOp::DeleteQos {
                names: vec!["high".into()]
            }
        );
        // Associations' QOS and default QOS; per-partition associations.
        let MgrOp::ModifyUsers {
            limits, partitions, ..
        } = op("modify user alice where partition=gpu set QOS+=high DefaultQOS=high")
        else {
            panic!()
        };
        assert_eq!(limits.qos, Some(ListChange::Add(vec!["high".into()])));
        assert_eq!(limits.default_qos.as_deref(), Some("high"));
        assert_eq!(partitions, ["gpu"]);
        let MgrOp::AddUsers {
            partitions,
            accounts,
            ..
        } = op("add user alice account=a partition=gpu")
        else {
            panic!()
        };
        assert_eq!(
            (partitions, accounts),
            (vec!["gpu".to_owned()], vec!["a".to_owned()])
        );
        for bad in [
            "add qos x PreemptMode=sometimes",
            "add qos x Flags=Bogus",
            "add qos x UsageFactor=abc",
            "modify qos where name=x",
        ] {
            let words: Vec<String> = bad.split_whitespace().map(str::to_owned).collect();
            assert!(
                matches!(parse_args(&words), Step::Exit(o) if o.code == 1),
                "{bad}"
            );
        }
    }

    #[test]
    fn show_assoc_options() {
        let Command::Show { query, .. } =
            parse("show assoc account=physics withsubaccounts partition=gpu").command
        else {
            panic!()
        };
        assert!(query.with_subaccounts);
        assert_eq!(query.partitions, ["gpu"]);
        let Command::Show { query, columns, .. } = parse("-s show user alice").command else {
            panic!()
        };
        assert!(query.with_assocs);
        assert_eq!(columns.last().unwrap().header, "Def QOS");
    }

    fn normal() -> Qos {
        Qos {
            name: "normal".into(),
            description: "Normal QOS default".into(),
            preempt_mode: "cluster".into(),
            usage_factor_micros: 1_000_000,
            ..Qos::default()
        }
    }

    #[test]
    fn show_qos_like_slurm() {
        let Command::Show { columns, .. } = parse("show qos").command else {
            panic!()
        };
        let mut high = normal();
        high.name = "high".into();
        high.priority = 100;
        high.preempt = vec!["normal".into()];
        high.max_tres_per_user = "gres/gpu=16".into();
        high.max_wall = Some(2880);
        high.max_jobs_per_user = Some(10);
        high.usage_factor_micros = 2_500_000;
        let list = MgrList {
            qos: vec![normal(), high],
            ..MgrList::default()
        };
        let out = render_show(&list, &columns, &[], Flags::default(), &Local::default());
        let lines: Vec<&str> = out.stdout.lines().collect();
        // (Flags is 40 wide in the default format.)
        let header = [
            "      Name   Priority  GraceTime    Preempt   PreemptExemptTime PreemptMode ",
            &" ".repeat(35),
            "Flags UsageThres UsageFactor       GrpTRES   GrpTRESMins GrpTRESRunMin GrpJobs ",
            "GrpSubmit     GrpWall       MaxTRES MaxTRESPerNode   MaxTRESMins     MaxWall ",
            "    MaxTRESPU MaxJobsPU MaxSubmitPU     MaxTRESPA MaxJobsPA MaxSubmitPA       MinTRES ",
        ]
        .concat();
        assert_eq!(lines[0], header);
        assert!(lines[2].starts_with(
            "    normal          0   00:00:00                                    cluster "
        ));
        assert!(lines[2].contains("    1.000000 "));
        assert!(lines[3].starts_with(
            "      high        100   00:00:00     normal                         cluster "
        ));
        assert!(lines[3].contains("    2.500000 "));
        assert!(lines[3].contains(" 2-00:00:00   gres/gpu=16        10 "));
        let out = render_show(
            &list,
            &parse_format("Name,Priority,MaxTRESPU,QOS").unwrap(),
            &[],
            Flags {
                parsable: Some(false),
                no_header: true,
                ..Flags::default()
            },
            &Local::default(),
        );
        assert_eq!(out.stdout, "normal|0||\nhigh|100|gres/gpu=16|\n");
    }

    #[test]
    fn qos_change_texts() {
        let reply = MgrReply {
            objects: vec!["high".into()],
            ..MgrReply::default()
        };
        let out = change_text(
            &op("add qos high Priority=100 MaxJobsPerUser=4 UsageFactor=2"),
            &reply,
        );
        assert_eq!(
            out.stdout,
            " Adding QOS(s)\n  high\n Settings\n  Description    = QOS Name\n  \
             MaxJobsPerUser = 4\n  Priority                 = 100\n  \
             UsageFactor              = 2.0000\n"
        );
        let out = change_text(&op("modify qos high set priority=1"), &reply);
        assert_eq!(out.stdout, " Modified qos...\n  high\n");
        let out = change_text(&op("delete qos high"), &reply);
        assert_eq!(out.stdout, " Deleting QOS(s)...\n  high\n");
        let out = change_text(&op("delete qos high"), &MgrReply::default());
        assert_eq!((out.stdout.as_str(), out.code), (" Nothing deleted\n", 1));
    }
}
