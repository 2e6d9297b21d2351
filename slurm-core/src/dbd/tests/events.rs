//! Node events, sreport's Down time and QOS UsageFactor, on both backends.

use super::cases::{add_account, add_user, mgr};
use super::usage_cases::{D, DEC, H, NOV, NOW, done, run, used, window};
use super::{TestDb, batch, ev};
use crate::proto::{
    AcctEvent, AcctNodeState, EventQuery, MgrOp, NodeDown, QosSettings, SharesQuery,
};

/// sshare's figures for cluster `bench` without decay.
async fn undecayed_shares(s: &crate::dbd::store::Store) -> crate::proto::SharesReply {
    s.shares(
        &SharesQuery {
            cluster: "bench".into(),
            half_life_s: 0,
        },
        NOW,
    )
    .await
    .unwrap()
}

const NODE_TRES: &str = "billing=4,cpu=4,mem=8000M,node=1";

fn down(node: &str, time: i64, state: &str, reason: &str) -> AcctEvent {
    AcctEvent::Node(AcctNodeState {
        node: node.into(),
        time,
        down: Some(NodeDown {
            state: state.into(),
            reason: reason.into(),
            uid: 1000,
            user: "admin".into(),
            tres: NODE_TRES.into(),
        }),
    })
}

fn up(node: &str, time: i64) -> AcctEvent {
    AcctEvent::Node(AcctNodeState {
        node: node.into(),
        time,
        down: None,
    })
}

fn any() -> EventQuery {
    EventQuery::default()
}

/// (node, start, end, state, reason) of what a query returns.
async fn listed(db: &TestDb, q: &EventQuery) -> Vec<(String, i64, Option<i64>, String, String)> {
    db.store
        .query_events(q)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.node, e.start, e.end, e.down.state, e.down.reason))
        .collect()
}

fn row(
    node: &str,
    start: i64,
    end: Option<i64>,
    state: &str,
    reason: &str,
) -> (String, i64, Option<i64>, String, String) {
    (node.into(), start, end, state.into(), reason.into())
}

pub async fn node_events_open_and_close(db: &TestDb) {
    let s = &db.store;
    let events = vec![
        // n1 drained at 100, draining → drained (same event), resumed at 400.
        down("n1", 100, "DRNG", "disk errors"),
        down("n1", 150, "DRAIN", "disk errors"),
        up("n1", 400),
        // n2 not responding at 200, still down; a repeat changes nothing.
        down("n2", 200, "DOWN*", "Not responding"),
        down("n2", 250, "DOWN*", "Not responding"),
        // n3: drained, then set down with another reason (a new event), then back.
        down("n3", 300, "DRAIN", "maint"),
        down("n3", 350, "DOWN", "dead fan"),
        up("n3", 500),
        // An up state for a node with no open event changes nothing.
        up("n4", 600),
    ];
    let acked = s
        .record_jobs(&batch("c", 1, 1, events.clone()), 0)
        .await
        .unwrap();
    assert_eq!(acked, 9);
    let all = listed(db, &any()).await;
    assert_eq!(
        all,
        [
            row("n1", 100, Some(400), "DRNG", "disk errors"),
            row("n2", 200, None, "DOWN*", "Not responding"),
            row("n3", 300, Some(350), "DRAIN", "maint"),
            row("n3", 350, Some(500), "DOWN", "dead fan"),
        ]
    );
    let e = &s.query_events(&any()).await.unwrap()[0];
    assert_eq!(
        (e.cluster.as_str(), e.down.uid, e.down.user.as_str()),
        ("c", 1000, "admin")
    );
    assert_eq!(e.down.tres, NODE_TRES);
    // The same records again under a new epoch (a new state directory) change nothing.
    s.record_jobs(&batch("c", 2, 1, events), 0).await.unwrap();
    assert_eq!(listed(db, &any()).await, all);
    // Filters: window, nodes, states, reasons, users, open events only.
    let q = EventQuery {
        start: Some(360),
        end: Some(450),
        ..any()
    };
    assert_eq!(
        listed(db, &q).await,
        [
            row("n1", 100, Some(400), "DRNG", "disk errors"),
            row("n2", 200, None, "DOWN*", "Not responding"),
            row("n3", 350, Some(500), "DOWN", "dead fan"),
        ]
    );
    let q = EventQuery {
        nodes: vec!["n3".into()],
        states: vec!["down".into()],
        ..any()
    };
    assert_eq!(
        listed(db, &q).await,
        [row("n3", 350, Some(500), "DOWN", "dead fan")]
    );
    let q = EventQuery {
        states: vec!["DRAIN".into()],
        ..any()
    };
    assert_eq!(listed(db, &q).await.len(), 2);
    let q = EventQuery {
        open_only: true,
        ..any()
    };
    assert_eq!(
        listed(db, &q).await,
        [row("n2", 200, None, "DOWN*", "Not responding")]
    );
    let q = EventQuery {
        reasons: vec!["maint".into()],
        users: vec!["admin".into()],
        ..any()
    };
    assert_eq!(listed(db, &q).await.len(), 1);
    let q = EventQuery {
        users: vec!["nobody".into()],
        ..any()
    };
    assert!(listed(db, &q).await.is_empty());
    let q = EventQuery {
        clusters: vec!["other".into()],
        ..any()
    };
    assert!(listed(db, &q).await.is_empty());
    // A drain undone in the second it was set is still an event (of no length).
    s.record_jobs(
        &batch(
            "c",
            3,
            1,
            vec![down("n5", 700, "DRAIN", "a"), up("n5", 700)],
        ),
        0,
    )
    .await
    .unwrap();
    let q = EventQuery {
        nodes: vec!["n5".into()],
        ..any()
    };
    assert_eq!(
        listed(db, &q).await,
        [row("n5", 700, Some(700), "DRAIN", "a")]
    );
    // Two states in one second: both are events.
    s.record_jobs(
        &batch(
            "c",
            4,
            1,
            vec![down("n5", 800, "DRAIN", "a"), down("n5", 800, "DOWN", "b")],
        ),
        0,
    )
    .await
    .unwrap();
    assert_eq!(
        listed(db, &q).await,
        [
            row("n5", 700, Some(700), "DRAIN", "a"),
            row("n5", 800, Some(800), "DRAIN", "a"),
            row("n5", 800, None, "DOWN", "b")
        ]
    );
}

pub async fn down_time_in_the_usage_report(db: &TestDb) {
    let s = &db.store;
    // Capacity: 4 nodes of 4 CPUs. n1 down for 10 hours of November; n2 drained since the
    // last 2 hours of November and still (the report counts it up to the dbd's clock).
    s.record_jobs(
        &batch(
            "c",
            1,
            1,
            vec![
                down("n1", NOV + 5 * H, "DOWN", "dead"),
                up("n1", NOV + 15 * H),
                down("n2", DEC - 2 * H, "DRAIN", "maint"),
            ],
        ),
        NOW,
    )
    .await
    .unwrap();
    let mut q = window(NOV, DEC);
    q.fallback_capacity = Some("billing=16,cpu=16,mem=32000M,node=4".into());
    let r = s.usage_report(&q, NOW).await.unwrap();
    let cap = |t: &str| r.capacity.iter().find(|c| c.tres == t).unwrap().clone();
    assert_eq!(cap("cpu").down_seconds, 4 * 12 * H as u64);
    assert_eq!(cap("node").down_seconds, 12 * H as u64);
    assert_eq!(cap("mem").down_seconds, 8000 * 12 * H as u64);
    assert_eq!(cap("cpu").seconds, 16 * 30 * D as u64);
    // December so far: n2's 4 days.
    let mut q = window(DEC, NOW);
    q.fallback_capacity = Some("cpu=16,node=4".into());
    let r = s.usage_report(&q, NOW).await.unwrap();
    let cpu = r.capacity.iter().find(|c| c.tres == "cpu").unwrap();
    assert_eq!(cpu.down_seconds, 4 * 4 * D as u64);
    // A window the events do not touch.
    let mut q = window(NOV + 20 * H, NOV + 22 * H);
    q.fallback_capacity = Some("cpu=16".into());
    let r = s.usage_report(&q, NOW).await.unwrap();
    assert_eq!(r.capacity[0].down_seconds, 0);
}

pub async fn usage_factor_weighs_fairshare_not_reports(db: &TestDb) {
    let s = &db.store;
    s.manage(&mgr(add_account("physics", None)), 0)
        .await
        .unwrap();
    for u in ["alice", "bob", "carol"] {
        s.manage(&mgr(add_user(u, "physics")), 0).await.unwrap();
    }
    let qos = |name: &str, micros: i64| {
        mgr(MgrOp::AddQos {
            names: vec![name.into()],
            settings: QosSettings {
                usage_factor_micros: Some(micros),
                ..QosSettings::default()
            },
        })
    };
    s.manage(&qos("double", 2_000_000), 0).await.unwrap();
    s.manage(&qos("free", 0), 0).await.unwrap();
    // One CPU-hour each: alice under normal, bob under double, carol under free (ended),
    // and bob again under double, running for the last hour.
    let tres = "billing=1,cpu=1,node=1";
    let start = NOW - 2 * D;
    let a = run(1, "alice", "physics", tres, start);
    let mut b = run(2, "bob", "physics", tres, start);
    b.qos = "double".into();
    let mut c = run(3, "carol", "physics", tres, start);
    c.qos = "free".into();
    let mut b2 = run(4, "bob", "physics", tres, NOW - H);
    b2.qos = "double".into();
    s.record_jobs(
        &batch(
            "bench",
            1,
            1,
            vec![
                ev(a.clone()),
                ev(done(&a, start + H)),
                ev(b.clone()),
                ev(c.clone()),
                ev(b2),
            ],
        ),
        NOW,
    )
    .await
    .unwrap();
    // The QOS changes while bob's job runs: the run keeps the factor it started with.
    s.manage(
        &mgr(MgrOp::ModifyQos {
            names: vec!["double".into()],
            settings: QosSettings {
                usage_factor_micros: Some(5_000_000),
                ..QosSettings::default()
            },
        }),
        0,
    )
    .await
    .unwrap();
    s.record_jobs(
        &batch(
            "bench",
            1,
            6,
            vec![ev(done(&b, start + H)), ev(done(&c, start + H))],
        ),
        NOW,
    )
    .await
    .unwrap();
    // sreport: plain TRES time for all three.
    let mut q = window(NOW - 3 * D, NOW);
    q.clusters = vec!["bench".into()];
    let r = s.usage_report(&q, NOW).await.unwrap();
    assert_eq!(used(&r, "physics", "alice", "cpu"), 3600);
    assert_eq!(used(&r, "physics", "bob", "cpu"), 2 * 3600);
    assert_eq!(used(&r, "physics", "carol", "cpu"), 3600);
    // Fairshare (no decay): times the UsageFactor.
    let shares = undecayed_shares(s).await;
    let usage = |u: &str| {
        shares
            .assocs
            .iter()
            .find(|x| x.user == u)
            .map(|x| x.usage)
            .unwrap()
    };
    assert!((usage("alice") - 3600.0).abs() < 1e-6, "{}", usage("alice"));
    assert!(
        (usage("bob") - 2.0 * 7200.0).abs() < 1e-6,
        "{}",
        usage("bob")
    );
    assert!(usage("carol").abs() < 1e-9, "{}", usage("carol"));
    // Rebuilding the rollups from the runs gives the same.
    s.rebuild_usage().await.unwrap();
    let again = undecayed_shares(s).await;
    assert_eq!(again.assocs, shares.assocs);
}

conformance!(
    events =>
    node_events_open_and_close,
    down_time_in_the_usage_report,
    usage_factor_weighs_fairshare_not_reports,
);
