//! The store's conformance suite: every case runs against SQLite (a fresh file) and against
//! MySQL/MariaDB (a fresh database on the server `SLINKY_TEST_MYSQL_URL` names, dropped
//! afterwards).
//!
//! Without `SLINKY_TEST_MYSQL_URL`, or with a server that does not answer, the MySQL cases
//! fail when `CI` is set (CI installs and starts MariaDB: see `.ci/run`) and are skipped
//! with a printed reason otherwise.

use super::store::{Backend, Store};
use crate::model::{JobRef, JobState, TimeLimit};
use crate::proto::{
    AcctEvent, AcctJob, AcctJobQuery, AcctRecord, AssocLimits, JobUsage, MgrEntity, MgrList, MgrOp,
    MgrQuery, MgrRequest, RecordJobsRequest,
};
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the MySQL/MariaDB server the tests use.
pub const MYSQL_URL_VAR: &str = "SLINKY_TEST_MYSQL_URL";

pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Database { server: String, name: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `mysql://u:p@h:port/db?x` → (`mysql://u:p@h:port`, `?x` or "").
fn split_db(url: &str) -> (String, String) {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    (server.to_owned(), query)
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("acct.db").display());
        let store = Store::open(&url).await.unwrap();
        Self {
            store,
            url,
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh database on the test server, or `None` (skip) when there is none outside CI.
    pub async fn mysql(test: &str) -> Option<Self> {
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        let unavailable = |why: String| {
            if in_ci {
                panic!("MySQL test {test}: {why} (CI must provide MariaDB: see .ci/run)");
            }
            eprintln!("skipping MySQL test {test}: {why}");
            None
        };
        let Ok(url) = std::env::var(MYSQL_URL_VAR) else {
            return unavailable(format!("{MYSQL_URL_VAR} is not set"));
        };
        sqlx::any::install_default_drivers();
        let mut admin = match sqlx::AnyConnection::connect(&url).await {
            Ok(c) => c,
            Err(e) => {
                return unavailable(format!(
                    "cannot connect to {}: {e}",
                    super::store::redact(&url)
                ));
            }
        };
        let name = format!(
            "slinky_t{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            test
        );
        let name: String = name.chars().take(64).collect();
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut admin)
            .await
            .unwrap();
        let _ = admin.close().await;
        let (server, query) = split_db(&url);
        let db_url = format!("{server}/{name}{query}");
        let store = Store::open(&db_url).await.unwrap();
        assert_eq!(store.backend(), Backend::MySql);
        Some(Self {
            store,
            url: db_url,
            cleanup: Cleanup::Database { server: url, name },
        })
    }

    pub async fn finish(self) {
        self.store.close().await;
        if let Cleanup::Database { server, name } = &self.cleanup
            && let Ok(mut c) = sqlx::AnyConnection::connect(server).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE `{name}`"))
                .execute(&mut c)
                .await;
            let _ = c.close().await;
        }
    }
}

// ----- fixtures -----

pub fn job(id: u32, state: JobState) -> AcctJob {
    AcctJob {
        job_id: id,
        array_job_id: None,
        array_task_id: None,
        array_pending: None,
        name: format!("job{id}"),
        user: "alice".into(),
        uid: 1001,
        gid: 100,
        account: "physics".into(),
        partition: "debug".into(),
        qos: "normal".into(),
        state,
        reason: "None".into(),
        cancelled_by: None,
        exit_code: 0,
        exit_signal: 0,
        submit: 1_000,
        eligible: Some(1_000),
        start: None,
        end: None,
        time_limit: TimeLimit::minutes(30),
        nodelist: String::new(),
        batch_host: String::new(),
        alloc_nodes: 0,
        alloc_cpus: 0,
        batch_cpus: 0,
        batch_tres: String::new(),
        req_cpus: 2,
        req_nodes: 1,
        alloc_tres: String::new(),
        req_tres: "billing=2,cpu=2,node=1".into(),
        work_dir: "/home/alice".into(),
        priority: 4294,
        restarts: 0,
    }
}

pub fn started(mut j: AcctJob, at: i64) -> AcctJob {
    j.state = JobState::Running;
    j.start = Some(at);
    j.nodelist = "node1".into();
    j.batch_host = "node1".into();
    j.alloc_nodes = 1;
    j.alloc_cpus = 2;
    j.batch_cpus = 2;
    j.batch_tres = "cpu=2,node=1".into();
    j.alloc_tres = "billing=2,cpu=2,node=1".into();
    j
}

pub fn ended(mut j: AcctJob, state: JobState, at: i64, code: i32) -> AcctJob {
    j.state = state;
    j.end = Some(at);
    j.exit_code = code;
    j
}

fn batch(cluster: &str, epoch: u64, first_seq: u64, events: Vec<AcctEvent>) -> RecordJobsRequest {
    RecordJobsRequest {
        cluster: cluster.into(),
        epoch,
        records: events
            .into_iter()
            .enumerate()
            .map(|(n, event)| AcctRecord {
                seq: first_seq + n as u64,
                event,
            })
            .collect(),
    }
}

fn ev(j: AcctJob) -> AcctEvent {
    AcctEvent::Job(Box::new(j))
}

fn all() -> AcctJobQuery {
    AcctJobQuery::default()
}

async fn ids(store: &Store, q: &AcctJobQuery) -> Vec<u32> {
    store
        .query_jobs(q)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.job.job_id)
        .collect()
}

// ----- the cases -----

/// Runs each listed case of `crate::dbd::tests::$module` as a test on SQLite and one on
/// MariaDB/MySQL (`SLINKY_TEST_MYSQL_URL`; in CI a missing database fails instead of
/// skipping, see [`TestDb::mysql`]).
macro_rules! conformance {
    ($module:ident => $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = crate::dbd::tests::TestDb::sqlite().await;
                    crate::dbd::tests::$module::$case(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = crate::dbd::tests::TestDb::mysql(stringify!($case)).await
                    else {
                        return;
                    };
                    crate::dbd::tests::$module::$case(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

/// Node events, Down time, UsageFactor.
mod events;

mod cases {
    use super::*;

    pub async fn schema_is_versioned_and_reopens(db: &TestDb) {
        assert_eq!(db.store.schema_version().await.unwrap(), 7);
        // Opening again applies nothing and checks the recorded checksums.
        let again = Store::open(&db.url).await.unwrap();
        assert_eq!(again.schema_version().await.unwrap(), 7);
        again.close().await;
    }

    pub async fn a_job_round_trips(db: &TestDb) {
        let mut j = job(1, JobState::Pending);
        j.name = "ünïcode name".into();
        j.time_limit = TimeLimit::Infinite;
        j.array_job_id = Some(1);
        j.array_pending = Some("0-9%2".into());
        j.cancelled_by = Some(0);
        let acked = db
            .store
            .record_jobs(&batch("c1", 7, 1, vec![ev(j.clone())]), 5)
            .await
            .unwrap();
        assert_eq!(acked, 1);
        let got = db.store.query_jobs(&all()).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].cluster, "c1");
        assert_eq!(got[0].job, j);
        assert!(got[0].steps.is_empty());
        assert_eq!(db.store.feed_position("c1", 7).await.unwrap(), 1);
        assert_eq!(db.store.feed_position("c1", 8).await.unwrap(), 0);
    }

    pub async fn a_lifecycle_keeps_one_row_and_a_batch_step(db: &TestDb) {
        let pending = job(5, JobState::Pending);
        let running = started(pending.clone(), 1_010);
        let done = ended(running.clone(), JobState::Failed, 1_070, 3);
        let usage = JobUsage {
            elapsed_s: 60,
            cpu_time_ms: 1_234,
            max_rss_kb: 1_072,
        };
        db.store
            .record_jobs(&batch("c", 1, 1, vec![ev(pending), ev(running)]), 0)
            .await
            .unwrap();
        let got = db.store.query_jobs(&all()).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].job.state, JobState::Running);
        assert_eq!(got[0].steps.len(), 1);
        let step = &got[0].steps[0];
        assert_eq!(
            (step.step.as_str(), step.state),
            ("batch", JobState::Running)
        );
        assert_eq!(
            (step.start, step.end, step.usage),
            (Some(1_010), None, None)
        );
        db.store
            .record_jobs(
                &batch(
                    "c",
                    1,
                    3,
                    vec![ev(done.clone()), AcctEvent::Usage { job_id: 5, usage }],
                ),
                0,
            )
            .await
            .unwrap();
        let got = db.store.query_jobs(&all()).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].job, done);
        let step = &got[0].steps[0];
        assert_eq!(step.state, JobState::Failed);
        assert_eq!((step.exit_code, step.exit_signal), (3, 0));
        assert_eq!((step.start, step.end), (Some(1_010), Some(1_070)));
        assert_eq!(step.nodelist, "node1");
        assert_eq!(
            (step.alloc_cpus, step.alloc_tres.as_str()),
            (2, "cpu=2,node=1")
        );
        assert_eq!(step.usage, Some(usage));
    }

    pub async fn replays_are_skipped_and_order_is_kept(db: &TestDb) {
        let p = job(9, JobState::Pending);
        let r = started(p.clone(), 1_100);
        let c = ended(r.clone(), JobState::Completed, 1_200, 0);
        let first = batch("c", 3, 1, vec![ev(p.clone()), ev(r.clone()), ev(c.clone())]);
        assert_eq!(db.store.record_jobs(&first, 0).await.unwrap(), 3);
        // The same batch again (its acknowledgement was lost): nothing changes.
        assert_eq!(db.store.record_jobs(&first, 0).await.unwrap(), 3);
        // An overlapping batch: 2 and 3 are skipped (so the job does not go back to
        // RUNNING), 4 is new.
        let overlap = batch(
            "c",
            3,
            2,
            vec![ev(r.clone()), ev(c.clone()), ev(job(10, JobState::Pending))],
        );
        assert_eq!(db.store.record_jobs(&overlap, 0).await.unwrap(), 4);
        let got = db.store.query_jobs(&all()).await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].job.state, JobState::Completed);
        assert_eq!(got[0].steps.len(), 1);
        assert_eq!(got[1].job.job_id, 10);
        // A stale record of the same spool never overwrites a newer one.
        let stale = RecordJobsRequest {
            cluster: "c".into(),
            epoch: 3,
            records: vec![AcctRecord {
                seq: 2,
                event: ev(r),
            }],
        };
        assert_eq!(db.store.record_jobs(&stale, 0).await.unwrap(), 4);
        assert_eq!(
            db.store.query_jobs(&all()).await.unwrap()[0].job.state,
            JobState::Completed
        );
        // A new spool (a new state directory) starts its numbers again.
        let mut renamed = c;
        renamed.name = "renamed".into();
        let fresh = batch("c", 4, 1, vec![ev(renamed)]);
        assert_eq!(db.store.record_jobs(&fresh, 0).await.unwrap(), 1);
        let got = db.store.query_jobs(&all()).await.unwrap();
        assert_eq!(got[0].job.name, "renamed");
        assert_eq!(got.len(), 2);
    }

    pub async fn requeue_drops_the_old_step(db: &TestDb) {
        let p = job(3, JobState::Pending);
        let r = started(p.clone(), 1_010);
        let mut again = p.clone();
        again.restarts = 1;
        db.store
            .record_jobs(&batch("c", 1, 1, vec![ev(p), ev(r), ev(again)]), 0)
            .await
            .unwrap();
        let got = db.store.query_jobs(&all()).await.unwrap();
        assert_eq!(got[0].job.restarts, 1);
        assert!(got[0].steps.is_empty());
    }

    pub async fn usage_of_an_unknown_job_is_ignored(db: &TestDb) {
        let req = batch(
            "c",
            1,
            1,
            vec![AcctEvent::Usage {
                job_id: 77,
                usage: JobUsage::default(),
            }],
        );
        assert_eq!(db.store.record_jobs(&req, 0).await.unwrap(), 1);
        assert!(db.store.query_jobs(&all()).await.unwrap().is_empty());
    }

    pub async fn clusters_are_kept_apart(db: &TestDb) {
        db.store
            .record_jobs(&batch("a", 1, 1, vec![ev(job(1, JobState::Pending))]), 0)
            .await
            .unwrap();
        db.store
            .record_jobs(&batch("b", 1, 1, vec![ev(job(1, JobState::Pending))]), 0)
            .await
            .unwrap();
        assert_eq!(ids(&db.store, &all()).await, [1, 1]);
        let q = AcctJobQuery {
            clusters: vec!["b".into()],
            ..all()
        };
        let got = db.store.query_jobs(&q).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].cluster, "b");
    }

    pub async fn filters_select_like_sacct(db: &TestDb) {
        // 1: alice/physics completed 1000-1100; 2: bob/chem running since 2000;
        // 3: alice pending since 3000; 4: bob cancelled at 1500 while pending;
        // 5,6: tasks 0 and 1 of array 5; 7: array 5's pending record (tasks 2-4), listed
        // before the array's tasks.
        let mut bob = job(2, JobState::Pending);
        bob.user = "bob".into();
        bob.uid = 1002;
        bob.account = "Chem".into();
        bob.submit = 1_900;
        let one = ended(
            started(job(1, JobState::Pending), 1_000),
            JobState::Completed,
            1_100,
            0,
        );
        let two = started(bob.clone(), 2_000);
        let mut three = job(3, JobState::Pending);
        three.submit = 3_000;
        let mut four = bob.clone();
        four.job_id = 4;
        four.submit = 1_200;
        four.state = JobState::Cancelled;
        four.end = Some(1_500);
        four.cancelled_by = Some(1002);
        let task = |id: u32, t: u32| {
            let mut j = job(id, JobState::Pending);
            j.array_job_id = Some(5);
            j.array_task_id = Some(t);
            j
        };
        let mut rest = job(7, JobState::Pending);
        rest.array_job_id = Some(5);
        rest.array_pending = Some("2-4".into());
        let events = vec![
            ev(one),
            ev(two),
            ev(three),
            ev(four),
            ev(task(5, 0)),
            ev(task(6, 1)),
            ev(rest),
        ];
        db.store
            .record_jobs(&batch("c", 1, 1, events), 0)
            .await
            .unwrap();
        let s = &db.store;
        assert_eq!(ids(s, &all()).await, [1, 2, 3, 4, 7, 5, 6]);
        let users = AcctJobQuery {
            uids: Some(vec![1002]),
            ..all()
        };
        assert_eq!(ids(s, &users).await, [2, 4]);
        let accounts = AcctJobQuery {
            accounts: Some(vec!["chem".into()]),
            ..all()
        };
        assert_eq!(ids(s, &accounts).await, [2, 4]);
        let none = AcctJobQuery {
            uids: Some(vec![]),
            ..all()
        };
        assert_eq!(ids(s, &none).await, Vec::<u32>::new());
        let jobs = |refs: &[(u32, Option<u32>)]| AcctJobQuery {
            jobs: refs
                .iter()
                .map(|&(job_id, array_task)| JobRef { job_id, array_task })
                .collect(),
            ..all()
        };
        assert_eq!(ids(s, &jobs(&[(2, None), (3, None)])).await, [2, 3]);
        assert_eq!(ids(s, &jobs(&[(5, None)])).await, [7, 5, 6]);
        assert_eq!(ids(s, &jobs(&[(5, Some(1))])).await, [6]);
        assert_eq!(ids(s, &jobs(&[(5, Some(3))])).await, [7]);
        assert_eq!(ids(s, &jobs(&[(5, Some(9))])).await, Vec::<u32>::new());
        // Time windows: present at some moment of [start, end].
        let window = |start: i64, end: i64| AcctJobQuery {
            start: Some(start),
            end: Some(end),
            ..all()
        };
        assert_eq!(ids(s, &window(1_150, 1_950)).await, [2, 4, 7, 5, 6]);
        assert_eq!(ids(s, &window(0, 1_000)).await, [1, 7, 5, 6]);
        // States: in that state during the window.
        let states = |list: &[JobState], start: i64, end: i64| AcctJobQuery {
            states: Some(list.to_vec()),
            start: Some(start),
            end: Some(end),
            ..all()
        };
        assert_eq!(ids(s, &states(&[JobState::Completed], 0, 5_000)).await, [1]);
        assert_eq!(
            ids(s, &states(&[JobState::Completed], 1_101, 5_000)).await,
            Vec::<u32>::new()
        );
        assert_eq!(
            ids(s, &states(&[JobState::Running], 2_500, 2_600)).await,
            [2]
        );
        assert_eq!(
            ids(s, &states(&[JobState::Running], 1_050, 1_060)).await,
            [1]
        );
        assert_eq!(
            ids(s, &states(&[JobState::Cancelled], 1_400, 1_600)).await,
            [4]
        );
        assert_eq!(
            ids(s, &states(&[JobState::Pending], 3_500, 3_600)).await,
            [3, 7, 5, 6]
        );
        // Without a window, states are the current ones.
        let current = AcctJobQuery {
            states: Some(vec![JobState::Running, JobState::Cancelled]),
            ..all()
        };
        assert_eq!(ids(s, &current).await, [2, 4]);
    }

    pub fn mgr(op: MgrOp) -> MgrRequest {
        MgrRequest {
            cluster: "bench".into(),
            commit: true,
            op,
        }
    }

    pub fn add_account(name: &str, parent: Option<&str>) -> MgrOp {
        MgrOp::AddAccounts {
            names: vec![name.into()],
            description: None,
            organization: Some("science".into()),
            parent: parent.map(Into::into),
            limits: AssocLimits::default(),
        }
    }

    pub fn add_user(name: &str, account: &str) -> MgrOp {
        MgrOp::AddUsers {
            names: vec![name.into()],
            accounts: vec![account.into()],
            default_account: None,
            admin_level: None,
            limits: AssocLimits::default(),
            partitions: vec![],
        }
    }

    pub async fn show(db: &TestDb, entity: MgrEntity) -> MgrList {
        db.store
            .show(&MgrQuery {
                entity,
                names: vec![],
                users: vec![],
                accounts: vec![],
                partitions: vec![],
                with_subaccounts: false,
                with_assocs: false,
            })
            .await
            .unwrap()
    }

    pub fn keys(list: &MgrList) -> Vec<String> {
        list.assocs
            .iter()
            .map(|a| format!("{}/{}/{}", a.cluster, a.account, a.user))
            .collect()
    }

    pub async fn accounts_users_and_associations(db: &TestDb) {
        // A fresh database has root (account and user) and no cluster.
        let accts = show(db, MgrEntity::Accounts).await.accounts;
        assert_eq!(accts.len(), 1);
        assert_eq!(accts[0].description, "default root account");
        let users = show(db, MgrEntity::Users).await.users;
        assert_eq!(users[0].admin_level, "Administrator");
        assert!(show(db, MgrEntity::Assocs).await.assocs.is_empty());

        // Asking without committing changes nothing, but reports what it would do.
        let mut dry = mgr(add_account("physics", None));
        dry.commit = false;
        let r = db.store.manage(&dry, 10).await.unwrap();
        assert_eq!(r.objects, vec!["physics"]);
        assert_eq!(show(db, MgrEntity::Accounts).await.accounts.len(), 1);
        assert!(show(db, MgrEntity::Clusters).await.clusters.is_empty());

        let r = db
            .store
            .manage(&mgr(add_account("physics", None)), 10)
            .await
            .unwrap();
        assert_eq!(r.objects, vec!["physics"]);
        assert_eq!(r.assocs.len(), 1);
        assert_eq!(
            (r.assocs[0].cluster.as_str(), r.assocs[0].parent.as_str()),
            ("bench", "root")
        );
        assert_eq!(show(db, MgrEntity::Clusters).await.clusters, vec!["bench"]);
        // Adding it again adds nothing.
        let r = db
            .store
            .manage(&mgr(add_account("physics", None)), 11)
            .await
            .unwrap();
        assert!(r.objects.is_empty() && r.assocs.is_empty() && r.error.is_none());
        db.store
            .manage(&mgr(add_account("chemistry", None)), 12)
            .await
            .unwrap();
        db.store
            .manage(&mgr(add_account("organic", Some("chemistry"))), 12)
            .await
            .unwrap();
        let r = db
            .store
            .manage(&mgr(add_account("x", Some("nope"))), 12)
            .await
            .unwrap();
        assert!(r.error.unwrap().contains("nope"));

        let r = db
            .store
            .manage(&mgr(add_user("bob", "physics")), 13)
            .await
            .unwrap();
        assert_eq!(r.objects, vec!["bob"]);
        db.store
            .manage(&mgr(add_user("alice", "physics")), 13)
            .await
            .unwrap();
        // A second account for an existing user adds only the association.
        let r = db
            .store
            .manage(&mgr(add_user("alice", "organic")), 13)
            .await
            .unwrap();
        assert!(r.objects.is_empty());
        assert_eq!(r.assocs.len(), 1);
        let r = db
            .store
            .manage(&mgr(add_user("carol", "nope")), 13)
            .await
            .unwrap();
        assert!(r.error.unwrap().contains("'nope' doesn't exist"));

        assert_eq!(
            keys(&show(db, MgrEntity::Assocs).await),
            [
                "bench/root/",
                "bench/root/root",
                "bench/chemistry/",
                "bench/organic/",
                "bench/organic/alice",
                "bench/physics/",
                "bench/physics/alice",
                "bench/physics/bob",
            ]
        );
        let users = show(db, MgrEntity::Users).await.users;
        let alice = users.iter().find(|u| u.name == "alice").unwrap();
        assert_eq!(
            (alice.default_account.as_str(), alice.admin_level.as_str()),
            ("physics", "None")
        );

        // Limits on a user's associations under one account; TRES lists merge.
        let limits = AssocLimits {
            grp_tres: Some("gres/gpu=2".into()),
            max_jobs: Some(3),
            max_wall: Some(90),
            ..AssocLimits::default()
        };
        let r = db
            .store
            .manage(
                &mgr(MgrOp::ModifyUsers {
                    names: vec!["alice".into()],
                    accounts: vec!["physics".into()],
                    default_account: None,
                    admin_level: None,
                    limits,
                    partitions: vec![],
                }),
                14,
            )
            .await
            .unwrap();
        assert_eq!(r.assocs.len(), 1);
        let more = AssocLimits {
            grp_tres: Some("cpu=8".into()),
            max_jobs: Some(-1),
            shares: Some(10),
            ..AssocLimits::default()
        };
        db.store
            .manage(
                &mgr(MgrOp::ModifyUsers {
                    names: vec!["alice".into()],
                    accounts: vec![],
                    default_account: Some("organic".into()),
                    admin_level: Some("operator".into()),
                    limits: more,
                    partitions: vec![],
                }),
                15,
            )
            .await
            .unwrap();
        let list = show(db, MgrEntity::Assocs).await;
        let a = list
            .assocs
            .iter()
            .find(|a| a.user == "alice" && a.account == "physics")
            .unwrap();
        assert_eq!(a.grp_tres, "cpu=8,gres/gpu=2");
        assert_eq!((a.max_jobs, a.max_wall, a.shares), (None, Some(90), 10));
        let users = show(db, MgrEntity::Users).await.users;
        let alice = users.iter().find(|u| u.name == "alice").unwrap();
        assert_eq!(
            (alice.default_account.as_str(), alice.admin_level.as_str()),
            ("organic", "Operator")
        );

        let r = db
            .store
            .manage(
                &mgr(MgrOp::ModifyAccounts {
                    names: vec!["physics".into()],
                    description: Some("phys".into()),
                    organization: None,
                    limits: AssocLimits {
                        grp_tres_run_mins: Some("cpu=10000".into()),
                        ..AssocLimits::default()
                    },
                }),
                16,
            )
            .await
            .unwrap();
        assert_eq!(r.objects, vec!["physics"]);
        assert_eq!(r.assocs.len(), 1);
        assert_eq!(r.assocs[0].grp_tres_run_mins, "cpu=10000");

        // Deleting: not an account with sub-accounts; an account takes its associations.
        let r = db
            .store
            .manage(
                &mgr(MgrOp::DeleteAccounts {
                    names: vec!["chemistry".into()],
                }),
                17,
            )
            .await
            .unwrap();
        assert!(r.error.is_some());
        let r = db
            .store
            .manage(
                &mgr(MgrOp::DeleteAccounts {
                    names: vec!["organic".into()],
                }),
                17,
            )
            .await
            .unwrap();
        assert_eq!(r.objects, vec!["organic"]);
        let r = db
            .store
            .manage(
                &mgr(MgrOp::DeleteUsers {
                    names: vec!["bob".into(), "zed".into()],
                }),
                18,
            )
            .await
            .unwrap();
        assert_eq!(r.objects, vec!["bob"]);
        assert_eq!(
            keys(&show(db, MgrEntity::Assocs).await),
            [
                "bench/root/",
                "bench/root/root",
                "bench/chemistry/",
                "bench/physics/",
                "bench/physics/alice",
            ]
        );
    }

    pub async fn clusters_get_root_associations(db: &TestDb) {
        let add = |names: Vec<String>| mgr(MgrOp::AddClusters { names });
        let r = db
            .store
            .manage(&add(vec!["c1".into(), "c2".into()]), 1)
            .await
            .unwrap();
        assert_eq!(r.objects, vec!["c1", "c2"]);
        let r = db.store.manage(&add(vec!["c1".into()]), 2).await.unwrap();
        assert!(r.objects.is_empty());
        // A cluster that records jobs is registered too.
        db.store
            .record_jobs(&batch("c3", 1, 1, vec![ev(job(1, JobState::Pending))]), 3)
            .await
            .unwrap();
        assert_eq!(
            show(db, MgrEntity::Clusters).await.clusters,
            vec!["c1", "c2", "c3"]
        );
        // A new account gets an association on every cluster.
        let r = db
            .store
            .manage(&mgr(add_account("physics", None)), 4)
            .await
            .unwrap();
        let on: Vec<&str> = r.assocs.iter().map(|a| a.cluster.as_str()).collect();
        assert_eq!(on, ["bench", "c1", "c2", "c3"]);
        assert_eq!(show(db, MgrEntity::Assocs).await.assocs.len(), 4 * 3);
    }

    pub async fn a_large_batch_is_one_transaction(db: &TestDb) {
        let events: Vec<AcctEvent> = (1..=1_000)
            .map(|id| ev(job(id, JobState::Pending)))
            .collect();
        let started_at = std::time::Instant::now();
        assert_eq!(
            db.store
                .record_jobs(&batch("c", 1, 1, events), 0)
                .await
                .unwrap(),
            1_000
        );
        eprintln!(
            "{:?}: 1000 records in {:?}",
            db.store.backend(),
            started_at.elapsed()
        );
        assert_eq!(ids(&db.store, &all()).await.len(), 1_000);
    }
}

/// Usage rollups, reports, QOS and shares.
mod usage_cases {
    use super::cases::{add_account, add_user, keys, mgr, show};
    use super::*;
    use crate::proto::{
        AcctJob, JobSizesQuery, ListChange, QosSettings, SharesQuery, UsageQuery, UsageReport,
    };

    /// 2026-11-01T00:00:00Z and 2026-12-01T00:00:00Z.
    pub const NOV: i64 = 1_793_491_200;
    pub const DEC: i64 = 1_796_083_200;
    pub const H: i64 = 3600;
    pub const D: i64 = 86_400;
    /// The dbd's clock in these cases: 2026-12-05T00:00:00Z.
    pub const NOW: i64 = DEC + 4 * D;

    pub fn run(id: u32, user: &str, account: &str, tres: &str, start: i64) -> AcctJob {
        let mut j = started(job(id, JobState::Pending), start);
        j.user = user.into();
        j.account = account.into();
        j.submit = start - 60;
        j.alloc_tres = tres.into();
        j
    }

    pub fn done(j: &AcctJob, end: i64) -> AcctJob {
        ended(j.clone(), JobState::Completed, end, 0)
    }

    /// Jobs 1-3 ended, job 4 running (see [`usage_rollups_hand_computed`]).
    pub fn scenario() -> Vec<AcctEvent> {
        let gpu2 = "billing=4,cpu=4,gres/gpu=2,mem=8G,node=1";
        let gpu1 = "billing=2,cpu=2,gres/gpu=1,node=1";
        let cpu1 = "billing=1,cpu=1,node=1";
        // 1: alice/physics 2 GPUs, Oct 31 23:00 - Nov 1 02:30.
        let j1 = run(1, "alice", "physics", gpu2, NOV - H);
        // 2: bob/physics 1 GPU, Nov 24 10:00 - 14:00.
        let j2 = run(2, "bob", "physics", gpu1, NOV + 23 * D + 10 * H);
        // 3: carol/chemistry 1 CPU, Nov 30 23:00 - Dec 1 01:00.
        let j3 = run(3, "carol", "chemistry", cpu1, DEC - H);
        // 4: alice/physics 1 GPU, running since Nov 30 22:00.
        let j4 = run(4, "alice", "physics", gpu1, DEC - 2 * H);
        let mut pending = j1.clone();
        pending.state = JobState::Pending;
        pending.start = None;
        vec![
            ev(pending),
            ev(j1.clone()),
            ev(done(&j1, NOV + 2 * H + 1800)),
            ev(j2.clone()),
            ev(done(&j2, NOV + 23 * D + 14 * H)),
            ev(j3.clone()),
            ev(done(&j3, DEC + H)),
            ev(j4),
        ]
    }

    pub fn used(r: &UsageReport, account: &str, user: &str, tres: &str) -> u64 {
        r.rows
            .iter()
            .filter(|x| x.account == account && x.user == user && x.tres == tres)
            .map(|x| x.seconds)
            .sum()
    }

    pub fn window(start: i64, end: i64) -> UsageQuery {
        UsageQuery {
            clusters: vec!["c".into()],
            start,
            end,
            tres: vec![],
            fallback_capacity: None,
        }
    }

    pub async fn usage_rollups_hand_computed(db: &TestDb) {
        db.store
            .record_jobs(&batch("c", 1, 1, scenario()), NOW)
            .await
            .unwrap();
        let s = &db.store;
        // November: job 1's 2.5 h in it, job 2's 4 h, job 3's last hour of the month, job 4's
        // 2 h so far (it runs on).
        let nov = s.usage_report(&window(NOV, DEC), NOW).await.unwrap();
        assert_eq!(used(&nov, "physics", "alice", "gres/gpu"), 2 * 9000 + 7200);
        assert_eq!(used(&nov, "physics", "bob", "gres/gpu"), 4 * H as u64);
        assert_eq!(used(&nov, "chemistry", "carol", "gres/gpu"), 0);
        assert_eq!(used(&nov, "physics", "alice", "cpu"), 4 * 9000 + 2 * 7200);
        assert_eq!(used(&nov, "physics", "bob", "cpu"), 2 * 4 * 3600);
        assert_eq!(used(&nov, "chemistry", "carol", "cpu"), 3600);
        assert_eq!(used(&nov, "physics", "alice", "mem"), 8192 * 9000);
        // One hour, one day, a window across the month's end.
        let hour = s
            .usage_report(&window(NOV + 23 * D + 12 * H, NOV + 23 * D + 13 * H), NOW)
            .await
            .unwrap();
        assert_eq!(used(&hour, "physics", "bob", "gres/gpu"), 3600);
        assert_eq!(hour.rows.len(), 4, "{:?}", hour.rows);
        let day = s
            .usage_report(&window(NOV + 23 * D, NOV + 24 * D), NOW)
            .await
            .unwrap();
        assert_eq!(used(&day, "physics", "bob", "cpu"), 28_800);
        let edge = s
            .usage_report(&window(DEC - 3 * H, DEC + 5 * H), NOW)
            .await
            .unwrap();
        assert_eq!(used(&edge, "chemistry", "carol", "cpu"), 7200);
        assert_eq!(used(&edge, "physics", "alice", "gres/gpu"), 7 * 3600);
        // October holds job 1's first hour.
        let oct = s
            .usage_report(&window(NOV - 31 * D, NOV), NOW)
            .await
            .unwrap();
        assert_eq!(used(&oct, "physics", "alice", "gres/gpu"), 7200);
    }

    pub async fn usage_rollups_are_idempotent(db: &TestDb) {
        let s = &db.store;
        s.record_jobs(&batch("c", 1, 1, scenario()), NOW)
            .await
            .unwrap();
        let before = s.usage_report(&window(NOV - D, NOW), NOW).await.unwrap();
        // The same batch again (skipped by its sequence numbers), then the whole spool again
        // under a new epoch (applied again, record by record), then each job's last record
        // once more: nothing is counted twice.
        s.record_jobs(&batch("c", 1, 1, scenario()), NOW + 10)
            .await
            .unwrap();
        s.record_jobs(&batch("c", 2, 1, scenario()), NOW + 20)
            .await
            .unwrap();
        let last: Vec<AcctEvent> = scenario()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| [2, 4, 6, 7].contains(i))
            .map(|(_, e)| e)
            .collect();
        s.record_jobs(&batch("c", 3, 1, last), NOW + 30)
            .await
            .unwrap();
        let after = s.usage_report(&window(NOV - D, NOW), NOW).await.unwrap();
        assert_eq!(before.rows, after.rows);
        // The rollups are what recomputing them from the runs gives.
        s.rebuild_usage().await.unwrap();
        let rebuilt = s.usage_report(&window(NOV - D, NOW), NOW).await.unwrap();
        assert_eq!(before.rows, rebuilt.rows);
        // A corrected record replaces the job's contribution: job 2 ends an hour later.
        let j2 = run(
            2,
            "bob",
            "physics",
            "billing=2,cpu=2,gres/gpu=1,node=1",
            NOV + 23 * D + 10 * H,
        );
        s.record_jobs(
            &batch("c", 3, 100, vec![ev(done(&j2, NOV + 23 * D + 15 * H))]),
            NOW,
        )
        .await
        .unwrap();
        let nov = s.usage_report(&window(NOV, DEC), NOW).await.unwrap();
        assert_eq!(used(&nov, "physics", "bob", "gres/gpu"), 5 * 3600);
        // Job 4 ends: its running share becomes a rolled-up one, the same amount.
        let j4 = run(
            4,
            "alice",
            "physics",
            "billing=2,cpu=2,gres/gpu=1,node=1",
            DEC - 2 * H,
        );
        let ended_at = DEC + 3 * H;
        s.record_jobs(&batch("c", 3, 101, vec![ev(done(&j4, ended_at))]), NOW)
            .await
            .unwrap();
        let dec = s.usage_report(&window(DEC, NOW), NOW).await.unwrap();
        assert_eq!(used(&dec, "physics", "alice", "gres/gpu"), 3 * 3600);

        // A database written before migrations 0003 and 0005 (no rollups, no JSON records):
        // the dbd fills both in when it starts.
        let final_rows = s
            .usage_report(&window(NOV - D, NOW), NOW)
            .await
            .unwrap()
            .rows;
        let jobs = s.query_jobs(&all()).await.unwrap();
        for t in ["usage_hour", "usage_day", "usage_month"] {
            sqlx::query(&format!("DELETE FROM {t}"))
                .execute(&s.pool)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE jobs SET record = NULL, steps_record = NULL")
            .execute(&s.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE usage_state SET value = 1")
            .execute(&s.pool)
            .await
            .unwrap();
        // (Read from the columns meanwhile.)
        assert_eq!(s.query_jobs(&all()).await.unwrap(), jobs);
        let reopened = Store::open(&db.url).await.unwrap();
        let rows = reopened
            .usage_report(&window(NOV - D, NOW), NOW)
            .await
            .unwrap()
            .rows;
        assert_eq!(rows, final_rows);
        assert_eq!(reopened.query_jobs(&all()).await.unwrap(), jobs);
        reopened.close().await;
    }

    pub async fn a_requeued_job_keeps_its_first_run(db: &TestDb) {
        let s = &db.store;
        let t = NOV + 2 * D;
        let first = run(9, "bob", "physics", "billing=2,cpu=2,node=1", t);
        let mut requeued = job(9, JobState::Pending);
        requeued.user = "bob".into();
        requeued.account = "physics".into();
        requeued.submit = first.submit;
        requeued.restarts = 1;
        let mut second = run(9, "bob", "physics", "billing=2,cpu=2,node=1", t + 2 * H);
        second.restarts = 1;
        second.submit = first.submit;
        // The requeue reaches the dbd three hours after the start.
        s.record_jobs(&batch("c", 1, 1, vec![ev(first), ev(requeued)]), t + 3 * H)
            .await
            .unwrap();
        s.record_jobs(
            &batch(
                "c",
                1,
                3,
                vec![ev(second.clone()), ev(done(&second, t + 4 * H))],
            ),
            t + 5 * H,
        )
        .await
        .unwrap();
        // (The first run is taken to end at its 30-minute time limit, before the requeue
        // was heard of.)
        let r = s.usage_report(&window(t, t + D), NOW).await.unwrap();
        assert_eq!(used(&r, "physics", "bob", "cpu"), 2 * 1800 + 2 * 2 * 3600);
        // sacct still shows one job.
        assert_eq!(ids(s, &all()).await, [9]);
    }

    pub async fn capacity_and_job_sizes(db: &TestDb) {
        let s = &db.store;
        for (name, parent) in [
            ("physics", None),
            ("chemistry", None),
            ("organic", Some("chemistry")),
        ] {
            s.manage(&mgr(add_account(name, parent)), 0).await.unwrap();
        }
        let mut events = scenario();
        let big = run(
            7,
            "dave",
            "organic",
            "billing=64,cpu=64,node=2",
            NOV + 5 * D,
        );
        events.push(ev(big.clone()));
        events.push(ev(done(&big, NOV + 5 * D + H)));
        s.record_jobs(&batch("c", 1, 1, events), NOW).await.unwrap();
        // Capacity: 16 CPUs from before November, 32 from Nov 16 on.
        s.record_capacity(
            &crate::proto::CapacityRecord {
                cluster: "c".into(),
                since: NOV - 10 * D,
                tres: "cpu=16,mem=64G,node=2".into(),
            },
            0,
        )
        .await
        .unwrap();
        s.record_capacity(
            &crate::proto::CapacityRecord {
                cluster: "c".into(),
                since: NOV + 15 * D,
                tres: "cpu=32,mem=128G,node=4".into(),
            },
            0,
        )
        .await
        .unwrap();
        let nov = s.usage_report(&window(NOV, DEC), NOW).await.unwrap();
        let cpu = nov.capacity.iter().find(|c| c.tres == "cpu").unwrap();
        assert_eq!(cpu.seconds, (16 * 15 * D + 32 * 15 * D) as u64);
        assert_eq!(cpu.count, 32);
        // Job sizes: CPU-seconds by size, under the accounts below root.
        let q = JobSizesQuery {
            clusters: vec!["c".into()],
            start: NOV,
            end: DEC,
            tres: "cpu".into(),
            accounts: vec![],
            grouping: vec![50, 250],
            flat_view: false,
            users: vec![],
            partitions: vec![],
        };
        let sizes = s.job_sizes(&q, NOW).await.unwrap();
        assert_eq!(sizes.buckets, [0, 50, 250]);
        let row = |a: &str| sizes.rows.iter().find(|r| r.account == a).unwrap().clone();
        assert_eq!(
            row("physics").seconds,
            [4 * 9000 + 2 * 14_400 + 2 * 7200, 0, 0]
        );
        assert_eq!(row("physics").jobs, [3, 0, 0]);
        // organic's job counts under chemistry, the account below root.
        assert_eq!(row("chemistry").seconds, [3600, 64 * 3600, 0]);
        assert_eq!(row("chemistry").jobs, [1, 1, 0]);
        let flat = s
            .job_sizes(
                &JobSizesQuery {
                    flat_view: true,
                    grouping: vec![],
                    ..q
                },
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(flat.buckets, [1, 2, 4, 64]);
        assert!(flat.rows.iter().any(|r| r.account == "organic"));
    }

    pub async fn shares_decay_usage(db: &TestDb) {
        let s = &db.store;
        s.manage(&mgr(add_account("physics", None)), 0)
            .await
            .unwrap();
        s.manage(&mgr(add_user("alice", "physics")), 0)
            .await
            .unwrap();
        s.manage(&mgr(add_user("bob", "physics")), 0).await.unwrap();
        // alice: 1 CPU for an hour, two days before now.
        let start = NOW - 2 * D;
        let j = run(1, "alice", "physics", "billing=1,cpu=1,node=1", start);
        // bob: 2 CPUs running for the last hour.
        let b = run(2, "bob", "physics", "billing=2,cpu=2,node=1", NOW - H);
        s.record_jobs(
            &batch(
                "bench",
                1,
                1,
                vec![ev(j.clone()), ev(done(&j, start + H)), ev(b)],
            ),
            NOW,
        )
        .await
        .unwrap();
        let q = SharesQuery {
            cluster: "bench".into(),
            half_life_s: D as u64,
        };
        let r = s.shares(&q, NOW).await.unwrap();
        let get = |a: &str, u: &str| {
            r.assocs
                .iter()
                .find(|x| x.account == a && x.user == u)
                .unwrap()
        };
        // Usage spread evenly over [a, b), seen at now with a half-life T:
        // T / (ln 2 (b - a)) (2^(-(now-b)/T) - 2^(-(now-a)/T)) per second.
        let decayed = |a: i64, b: i64| {
            let t = D as f64;
            let f = |x: i64| 2f64.powf(-((NOW - x) as f64) / t);
            t / (std::f64::consts::LN_2) * (f(b) - f(a))
        };
        let alice = get("physics", "alice").usage;
        assert!(
            (alice - decayed(start, start + H)).abs() < 1e-6 * alice,
            "{alice}"
        );
        assert!(
            (alice - 3600.0 * 0.25 * 2f64.powf(0.5 / 24.0)).abs() < 1.0,
            "{alice}"
        );
        let bob = get("physics", "bob").usage;
        assert!(
            (bob - 2.0 * decayed(NOW - H, NOW)).abs() < 1e-6 * bob,
            "{bob}"
        );
        // Accounts add up what is under them.
        let physics = get("physics", "").usage;
        assert!((physics - alice - bob).abs() < 1e-6);
        assert!((get("root", "").usage - physics).abs() < 1e-6);
        assert_eq!(get("physics", "").parent, "root");
        // Without decay: the raw seconds.
        let flat = s
            .shares(
                &SharesQuery {
                    cluster: "bench".into(),
                    half_life_s: 0,
                },
                NOW,
            )
            .await
            .unwrap();
        let a = flat
            .assocs
            .iter()
            .find(|x| x.user == "alice")
            .unwrap()
            .usage;
        assert!((a - 3600.0).abs() < 1e-9);
    }

    pub async fn qos_and_association_qos(db: &TestDb) {
        let s = &db.store;
        s.manage(&mgr(add_account("physics", None)), 0)
            .await
            .unwrap();
        s.manage(&mgr(add_account("theory", Some("physics"))), 0)
            .await
            .unwrap();
        s.manage(&mgr(add_user("alice", "physics")), 0)
            .await
            .unwrap();
        // `normal` exists and the cluster's root allows it; everything inherits it.
        let list = show(db, MgrEntity::Qos).await.qos;
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0].name.as_str(), list[0].usage_factor_micros),
            ("normal", 1_000_000)
        );
        let assocs = show(db, MgrEntity::Assocs).await.assocs;
        assert!(assocs.iter().all(|a| a.qos == "normal"), "{assocs:?}");
        let high = QosSettings {
            priority: Some(100),
            preempt: Some(ListChange::Set(vec!["normal".into()])),
            max_tres_per_user: Some("gres/gpu=4".into()),
            max_wall: Some(24 * 60),
            usage_factor_micros: Some(2_000_000),
            ..QosSettings::default()
        };
        let r = s
            .manage(
                &mgr(MgrOp::AddQos {
                    names: vec!["high".into()],
                    settings: high,
                }),
                0,
            )
            .await
            .unwrap();
        assert_eq!(r.objects, ["high"]);
        let r = s
            .manage(
                &mgr(MgrOp::AddQos {
                    names: vec!["x".into()],
                    settings: QosSettings {
                        preempt: Some(ListChange::Set(vec!["nope".into()])),
                        ..QosSettings::default()
                    },
                }),
                0,
            )
            .await
            .unwrap();
        assert!(r.error.unwrap().contains("nope"));
        // physics gets both; theory (and alice, through physics) inherit them.
        let limits = AssocLimits {
            qos: Some(ListChange::Add(vec!["high".into()])),
            default_qos: Some("normal".into()),
            ..AssocLimits::default()
        };
        let r = s
            .manage(
                &mgr(MgrOp::ModifyAccounts {
                    names: vec!["physics".into()],
                    description: None,
                    organization: None,
                    limits,
                }),
                0,
            )
            .await
            .unwrap();
        assert!(r.error.is_none(), "{r:?}");
        let assocs = show(db, MgrEntity::Assocs).await.assocs;
        let of = |a: &str, u: &str| {
            assocs
                .iter()
                .find(|x| x.account == a && x.user == u)
                .map(|x| (x.qos.clone(), x.default_qos.clone()))
                .unwrap()
        };
        assert_eq!(of("physics", ""), ("normal,high".into(), "normal".into()));
        assert_eq!(of("theory", ""), ("normal,high".into(), "normal".into()));
        assert_eq!(
            of("physics", "alice"),
            ("normal,high".into(), "normal".into())
        );
        assert_eq!(of("root", "root"), ("normal".into(), String::new()));
        // A default outside the list is refused; a QOS that is someone's default cannot go.
        let bad = AssocLimits {
            qos: Some(ListChange::Set(vec!["high".into()])),
            default_qos: Some("normal".into()),
            ..AssocLimits::default()
        };
        let r = s
            .manage(
                &mgr(MgrOp::ModifyUsers {
                    names: vec!["alice".into()],
                    accounts: vec![],
                    default_account: None,
                    admin_level: None,
                    limits: bad,
                    partitions: vec![],
                }),
                0,
            )
            .await
            .unwrap();
        assert!(r.error.is_some(), "{r:?}");
        let r = s
            .manage(
                &mgr(MgrOp::DeleteQos {
                    names: vec!["normal".into()],
                }),
                0,
            )
            .await
            .unwrap();
        assert!(r.error.unwrap().contains("Default QOS"));
        // high goes: out of the lists and of normal's... (normal preempts nothing).
        let r = s
            .manage(
                &mgr(MgrOp::DeleteQos {
                    names: vec!["high".into()],
                }),
                0,
            )
            .await
            .unwrap();
        assert_eq!(r.objects, ["high"]);
        let assocs = show(db, MgrEntity::Assocs).await.assocs;
        assert!(assocs.iter().all(|a| a.qos == "normal"), "{assocs:?}");
        // Per-partition associations, and sub-accounts on request.
        let mut add = add_user("bob", "theory");
        if let MgrOp::AddUsers { partitions, .. } = &mut add {
            *partitions = vec!["gpu".into(), "cpu".into()];
        }
        let r = s.manage(&mgr(add), 0).await.unwrap();
        let parts: Vec<&str> = r.assocs.iter().map(|a| a.partition.as_str()).collect();
        assert_eq!(parts, ["gpu", "cpu"]);
        let q = |accounts: Vec<String>, with_subaccounts: bool| MgrQuery {
            entity: MgrEntity::Assocs,
            names: vec![],
            users: vec![],
            accounts,
            partitions: vec![],
            with_subaccounts,
            with_assocs: false,
        };
        let only = s.show(&q(vec!["physics".into()], false)).await.unwrap();
        assert_eq!(keys(&only), ["bench/physics/", "bench/physics/alice"]);
        let sub = s.show(&q(vec!["physics".into()], true)).await.unwrap();
        assert_eq!(
            sub.assocs
                .iter()
                .map(|a| format!("{}/{}/{}", a.account, a.user, a.partition))
                .collect::<Vec<_>>(),
            [
                "physics//",
                "physics/alice/",
                "theory//",
                "theory/bob/cpu",
                "theory/bob/gpu"
            ]
        );
    }
}

/// Runs each case on both backends.
mod usage_runs {
    conformance!(usage_cases =>
        usage_rollups_hand_computed,
        usage_rollups_are_idempotent,
        a_requeued_job_keeps_its_first_run,
        capacity_and_job_sizes,
        shares_decay_usage,
        qos_and_association_qos,
    );
}

conformance!(
    cases =>
    schema_is_versioned_and_reopens,
    a_job_round_trips,
    a_lifecycle_keeps_one_row_and_a_batch_step,
    replays_are_skipped_and_order_is_kept,
    requeue_drops_the_old_step,
    usage_of_an_unknown_job_is_ignored,
    clusters_are_kept_apart,
    filters_select_like_sacct,
    a_large_batch_is_one_transaction,
    accounts_users_and_associations,
    clusters_get_root_associations,
);

#[test]
fn server_urls() {
    assert_eq!(
        split_db("mysql://u:p@h:3306/db?ssl-mode=disabled"),
        (
            "mysql://u:p@h:3306".to_owned(),
            "?ssl-mode=disabled".to_owned()
        )
    );
    assert_eq!(
        split_db("mysql://u:p@h"),
        ("mysql://u:p@h".to_owned(), String::new())
    );
}
