//! `sacctmgr show event` / `sacctmgr list events`: the dbd's node events (`QueryEvents`).
//!
//! Filters: `Nodes=` (host lists), `Start=`/`End=` (Slurm's time forms; the window defaults
//! to 00:00:00 yesterday until now, or to the events still open when `States=` is given
//! without a `Start=`), `States=`, `Reason=`, `User=`, `Clusters=`, `Event=Cluster|Node`,
//! `CondFlags=Open`, `All_Clusters`, `All_Time`; `Format=` with Slurm's fields (default
//! `Cluster,NodeName,TimeStart,TimeEnd,State,Reason,User`).

use super::Flags;
use super::columns::{self, FieldSpec, header, line};
use crate::format::timefmt;
use crate::model::Timestamp;
use crate::proto::{EventList, EventQuery, NodeEvent};

/// A field of an event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventField {
    Cluster,
    ClusterNodes,
    Duration,
    End,
    Event,
    EventRaw,
    NodeName,
    Reason,
    Start,
    State,
    StateRaw,
    Tres,
    User,
}

/// (names accepted, lower case; field; header; width)
const FIELDS: &[FieldSpec<EventField>] = &[
    (&["cluster"], EventField::Cluster, "Cluster", 10),
    (
        &["clusternodes"],
        EventField::ClusterNodes,
        "Cluster Nodes",
        20,
    ),
    (&["duration"], EventField::Duration, "Duration", 13),
    (
        &["end", "timeend", "eventend"],
        EventField::End,
        "TimeEnd",
        19,
    ),
    (&["event"], EventField::Event, "Event", 7),
    (&["eventraw"], EventField::EventRaw, "EventRaw", 8),
    (
        &["nodename", "node", "nodes"],
        EventField::NodeName,
        "NodeName",
        15,
    ),
    (&["reason"], EventField::Reason, "Reason", 30),
    (
        &["start", "timestart", "eventstart"],
        EventField::Start,
        "TimeStart",
        19,
    ),
    (&["state"], EventField::State, "State", 6),
    (&["stateraw"], EventField::StateRaw, "StateRaw", 8),
    (&["tres"], EventField::Tres, "TRES", 20),
    (&["user"], EventField::User, "User", 10),
];

const DEFAULT_FORMAT: &str = "Cluster,NodeName,TimeStart,TimeEnd,State,Reason,User";

/// A column of the listing: `header` right-aligned in `width` like sacctmgr's others.
pub type EventColumn = columns::Column<EventField>;

/// What `sacctmgr show event` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsCommand {
    pub query: EventQuery,
    pub columns: Vec<EventColumn>,
    /// `Event=Cluster` alone: no node events (and no cluster events are recorded).
    pub clusters_only: bool,
    /// `All_Clusters`: every cluster (else the local one unless `Clusters=` names others).
    pub all_clusters: bool,
}

fn parse_format(text: &str) -> Result<Vec<EventColumn>, String> {
    columns::parse_format(text, FIELDS)
}

/// 00:00:00 (local time) of the day before `now`: Slurm's default start.
fn yesterday(now: Timestamp, tz: i32) -> Timestamp {
    let local = now + i64::from(tz);
    local.div_euclid(86_400) * 86_400 - 86_400 - i64::from(tz)
}

/// Parses the words after `show event` (bare words and `key=value` pairs, keys lower-case).
pub fn parse(
    names: &[String],
    pairs: &[(String, String, bool)],
    now: Timestamp,
    tz: i32,
) -> Result<EventsCommand, String> {
    let mut q = EventQuery::default();
    let mut format = None;
    let mut all_time = false;
    let mut all_clusters = false;
    let mut event_kinds: Vec<String> = Vec::new();
    for n in names {
        match n.to_ascii_lowercase().as_str() {
            "all_time" | "alltime" => all_time = true,
            "all_clusters" | "allclusters" => all_clusters = true,
            "open" => q.open_only = true,
            _ => return Err(format!(" Unknown condition: {n}")),
        }
    }
    let time = |v: &str| {
        crate::parse::sbatch::parse_begin(v, now, tz)
            .map_err(|_| format!(" Invalid time specification: {v}"))
    };
    for (k, v, _) in pairs {
        match k.as_str() {
            "format" => format = Some(v.clone()),
            "start" | "starttime" => q.start = Some(time(v)?),
            "end" | "endtime" => q.end = Some(time(v)?),
            "node" | "nodes" | "nodelist" => {
                for part in super::super::split_list(v) {
                    let hosts = crate::parse::hostlist::expand(&part)
                        .map_err(|e| format!(" Invalid node list {part}: {e}"))?;
                    q.nodes.extend(hosts);
                }
            }
            "state" | "states" => q.states.extend(super::super::split_list(v)),
            "reason" | "reasons" => q.reasons.push(v.clone()),
            "user" | "users" => q.users.extend(super::super::split_list(v)),
            "cluster" | "clusters" => q.clusters.extend(super::super::split_list(v)),
            "event" | "events" => event_kinds.extend(super::super::split_list(v)),
            "condflags" => {
                for f in super::super::split_list(v) {
                    if f.eq_ignore_ascii_case("open") {
                        q.open_only = true;
                    } else {
                        return Err(format!(" Unknown CondFlags value: {f}"));
                    }
                }
            }
            _ => return Err(super::unknown(k)),
        }
    }
    let mut clusters_only = false;
    for kind in &event_kinds {
        match kind.to_ascii_lowercase().as_str() {
            "node" | "nodes" | "all" => {}
            "cluster" | "clusters" => clusters_only = true,
            _ => return Err(format!(" Unknown event type: {kind}")),
        }
    }
    if event_kinds
        .iter()
        .any(|k| k.to_ascii_lowercase().starts_with("node") || k.eq_ignore_ascii_case("all"))
    {
        clusters_only = false;
    }
    if all_time {
        q.start = None;
        q.end = None;
    } else {
        if q.start.is_none() {
            if q.states.is_empty() {
                q.start = Some(yesterday(now, tz));
            } else {
                // States without a start: the events currently in those states.
                q.open_only = true;
            }
        }
        if q.end.is_none() {
            q.end = Some(now + 1);
        }
    }
    let columns = parse_format(format.as_deref().unwrap_or(DEFAULT_FORMAT))?;
    Ok(EventsCommand {
        query: q,
        columns,
        clusters_only,
        all_clusters,
    })
}

/// Slurm's numeric node state of an event state (`StateRaw`).
fn state_raw(state: &str) -> u32 {
    const DOWN: u32 = 1;
    const IDLE: u32 = 2;
    const ALLOCATED: u32 = 3;
    const DRAIN: u32 = 0x0200;
    const NO_RESPOND: u32 = 0x0800;
    match state {
        "DOWN*" => DOWN | NO_RESPOND,
        "DOWN" => DOWN,
        "DRAIN" => IDLE | DRAIN,
        "DRNG" => ALLOCATED | DRAIN,
        _ => 0,
    }
}

/// `D-HH:MM:SS` (`HH:MM:SS` under a day), as Slurm's `secs2time_str`.
fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, rest) = (secs / 86_400, secs % 86_400);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    );
    if d > 0 { format!("{d}-{hms}") } else { hms }
}

fn value(e: &NodeEvent, field: EventField, now: Timestamp, tz: i32) -> String {
    let down = &e.down;
    match field {
        EventField::Cluster => e.cluster.clone(),
        EventField::ClusterNodes => String::new(),
        EventField::Duration => duration(e.end.unwrap_or(now) - e.start),
        EventField::End => timefmt::iso_or_unknown(e.end, tz),
        EventField::Event => "Node".to_owned(),
        EventField::EventRaw => "2".to_owned(),
        EventField::NodeName => e.node.clone(),
        EventField::Reason => down.reason.clone(),
        EventField::Start => timefmt::iso(e.start, tz),
        EventField::State => down.state.clone(),
        EventField::StateRaw => state_raw(&down.state).to_string(),
        EventField::Tres => down.tres.clone(),
        EventField::User => {
            if down.user.is_empty() {
                down.uid.to_string()
            } else {
                format!("{}({})", down.user, down.uid)
            }
        }
    }
}

/// The listing as Slurm prints it.
pub fn render(list: &EventList, cmd: &EventsCommand, flags: Flags, tz: i32) -> String {
    let mut out = String::new();
    header(&mut out, &cmd.columns, flags);
    if cmd.clusters_only {
        return out;
    }
    for e in &list.events {
        let values: Vec<String> = cmd
            .columns
            .iter()
            .map(|c| value(e, c.field, list.now, tz))
            .collect();
        line(&mut out, &values, &cmd.columns, flags);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02T12:00:00Z.
    const NOW: Timestamp = 1_796_212_800;

    fn words(line: &str) -> (Vec<String>, Vec<(String, String, bool)>) {
        let mut names = Vec::new();
        let mut pairs = Vec::new();
        for w in line.split_whitespace() {
            match w.split_once('=') {
                Some((k, v)) => pairs.push((k.to_ascii_lowercase(), v.to_owned(), false)),
                None => names.push(w.to_owned()),
            }
        }
        (names, pairs)
    }

    fn cmd(line: &str) -> Result<EventsCommand, String> {
        let (n, p) = words(line);
        parse(&n, &p, NOW, 0)
    }

    fn event(end: Option<Timestamp>) -> NodeEvent {
        use crate::proto::NodeDown;
        NodeEvent {
            cluster: "bench".into(),
            node: "node-001".into(),
            start: NOW - 3600,
            end,
            down: NodeDown {
                state: "DRAIN".into(),
                reason: "bad disk".into(),
                uid: 0,
                user: "root".into(),
                tres: "billing=4,cpu=4,mem=8000M,node=1".into(),
            },
        }
    }

    #[test]
    fn filters_and_defaults() {
        let c = cmd("").unwrap();
        assert_eq!(c.query.start, Some(NOW - 12 * 3600 - 86_400));
        assert_eq!(c.query.end, Some(NOW + 1));
        assert!(!c.query.open_only);
        let c = cmd("nodes=node-[001-002] start=2026-12-01 end=2026-12-02T06:00:00 States=DOWN,drain Reason=maint User=root").unwrap();
        assert_eq!(c.query.nodes, ["node-001", "node-002"]);
        assert_eq!(c.query.start, Some(NOW - 36 * 3600));
        assert_eq!(c.query.end, Some(NOW - 6 * 3600));
        assert_eq!(c.query.states, ["DOWN", "drain"]);
        assert_eq!((c.query.reasons.len(), c.query.users.len()), (1, 1));
        // States without a start: what is in those states now.
        let c = cmd("states=down").unwrap();
        assert!(c.query.open_only);
        assert_eq!(c.query.start, None);
        let c = cmd("All_Time CondFlags=Open").unwrap();
        assert_eq!(
            (c.query.start, c.query.end, c.query.open_only),
            (None, None, true)
        );
        assert!(cmd("event=cluster").unwrap().clusters_only);
        assert!(!cmd("event=cluster,node").unwrap().clusters_only);
        assert!(cmd("bogus=1").is_err());
        assert!(cmd("start=notatime").is_err());
        assert!(cmd("format=NodeName,Nope").is_err());
    }

    #[test]
    fn listing_like_slurm() {
        let c = cmd("").unwrap();
        let list = EventList {
            now: NOW,
            events: vec![event(Some(NOW - 600)), event(None)],
        };
        let out = render(&list, &c, Flags::default(), 0);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "   Cluster        NodeName           TimeStart             TimeEnd  State                         Reason       User "
        );
        assert_eq!(
            lines[1],
            "---------- --------------- ------------------- ------------------- ------ ------------------------------ ---------- "
        );
        assert_eq!(
            lines[2],
            "     bench        node-001 2026-12-02T11:00:00 2026-12-02T11:50:00  DRAIN                       bad disk    root(0) "
        );
        assert!(lines[3].contains("             Unknown "), "{}", lines[3]);
        let c = cmd("format=NodeName,Duration,State,StateRaw,Event,TRES%40").unwrap();
        let flags = Flags {
            parsable: Some(false),
            no_header: true,
            ..Flags::default()
        };
        assert_eq!(
            render(&list, &c, flags, 0),
            "node-001|00:50:00|DRAIN|514|Node|billing=4,cpu=4,mem=8000M,node=1\n\
             node-001|01:00:00|DRAIN|514|Node|billing=4,cpu=4,mem=8000M,node=1\n"
        );
        assert_eq!(duration(90_061), "1-01:01:01");
        let c = cmd("event=cluster").unwrap();
        assert_eq!(render(&list, &c, flags, 0), "");
    }
}
