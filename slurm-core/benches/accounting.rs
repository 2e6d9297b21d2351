//! Accounting benchmarks: figures are printed, not asserted.
//!
//! `cargo bench -p slurm-core --bench accounting` (release build). Fills a fresh SQLite
//! accounting database (and a MySQL/MariaDB one when `SLINKY_TEST_MYSQL_URL` names a server
//! that may create databases) with `ACCT_BENCH_JOBS` jobs (100,000 by default) that ran in
//! November 2026 — 200 users in 20 accounts under 4 departments, 1-64 CPUs, up to 8 GPUs,
//! 1 minute to 24 hours — each sent as the controller sends it: pending, running and ended
//! records in batches of 500. Then it times:
//! * ingestion (records per second, usage rollups included);
//! * `sacct -a -S 2026-11-01 -E 2026-12-01` (the dbd's query, and the query plus sacct's
//!   rendering);
//! * `sreport cluster AccountUtilizationByUser start=2026-11-01 end=2026-12-01` (the dbd's
//!   usage query plus the rendering), also with `--tres=gres/gpu -t hours`;
//! * `sshare -a` (the dbd's decayed usage) and `sreport job SizesByAccount`.

use slurm_core::commands::sreport;
use slurm_core::commands::{Step, sacct};
use slurm_core::dbd::Store;
use slurm_core::model::{JobState, TimeLimit};
use slurm_core::proto::{
    AcctEvent, AcctJob, AcctRecord, AssocLimits, JobSizesQuery, MgrOp, MgrRequest,
    RecordJobsRequest, SharesQuery, UsageQuery,
};
use std::time::{Duration, Instant};

/// 2026-11-01T00:00:00Z and 2026-12-01T00:00:00Z.
const NOV: i64 = 1_793_491_200;
const DEC: i64 = 1_796_083_200;
const CLUSTER: &str = "bench";

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn account_of(user: u64) -> String {
    format!("proj{:02}", user % 20)
}

fn base_job(id: u32, jobs: u32, rng: &mut Rng) -> AcctJob {
    let user = rng.below(200);
    let cpus = 1 + rng.below(64) as u32;
    let gpus = if rng.below(3) == 0 { rng.below(9) } else { 0 };
    // Ids in submission order, as the controller hands them out.
    let submit = NOV + i64::from(id) * (29 * 86_400) / i64::from(jobs.max(1));
    let mut tres = format!("billing={cpus},cpu={cpus}");
    if gpus > 0 {
        tres.push_str(&format!(",gres/gpu={gpus}"));
    }
    tres.push_str(&format!(",mem={}M,node=1", u64::from(cpus) * 2048));
    AcctJob {
        job_id: id,
        array_job_id: None,
        array_task_id: None,
        array_pending: None,
        name: format!("job{id}"),
        user: format!("user{user:03}"),
        uid: 10_000 + user as u32,
        gid: 100,
        account: account_of(user),
        partition: if gpus > 0 { "gpu" } else { "cpu" }.into(),
        qos: "normal".into(),
        state: JobState::Pending,
        reason: "Priority".into(),
        cancelled_by: None,
        exit_code: 0,
        exit_signal: 0,
        submit,
        eligible: Some(submit),
        start: None,
        end: None,
        time_limit: TimeLimit::minutes(24 * 60),
        nodelist: String::new(),
        batch_host: String::new(),
        alloc_nodes: 0,
        alloc_cpus: 0,
        batch_cpus: 0,
        batch_tres: String::new(),
        req_cpus: cpus,
        req_nodes: 1,
        alloc_tres: String::new(),
        req_tres: tres,
        work_dir: "/home".into(),
        priority: 1000,
        restarts: 0,
    }
}

/// A job's three records (pending, running, ended) with the times they happen at.
fn lifecycle(id: u32, jobs: u32, rng: &mut Rng) -> [(i64, AcctEvent); 3] {
    let pending = base_job(id, jobs, rng);
    let mut running = pending.clone();
    let start = pending.submit + rng.below(600) as i64;
    running.state = JobState::Running;
    running.reason = "None".into();
    running.start = Some(start);
    running.nodelist = format!("node{:03}", rng.below(128));
    running.batch_host = running.nodelist.clone();
    running.alloc_nodes = 1;
    running.alloc_cpus = pending.req_cpus;
    running.batch_cpus = pending.req_cpus;
    running.alloc_tres = pending.req_tres.clone();
    running.batch_tres = pending.req_tres.replace("billing=", "x=");
    let mut ended = running.clone();
    ended.state = JobState::Completed;
    ended.end = Some((start + 60 + rng.below(86_400) as i64).min(DEC - 1));
    [
        (pending.submit, AcctEvent::Job(Box::new(pending))),
        (start, AcctEvent::Job(Box::new(running))),
        (ended.end.unwrap_or(start), AcctEvent::Job(Box::new(ended))),
    ]
}

fn mgr(op: MgrOp) -> MgrRequest {
    MgrRequest {
        cluster: CLUSTER.into(),
        commit: true,
        op,
    }
}

async fn setup_accounts(store: &Store) {
    for d in 0..4 {
        store
            .manage(
                &mgr(MgrOp::AddAccounts {
                    names: vec![format!("dept{d}")],
                    description: None,
                    organization: None,
                    parent: None,
                    limits: AssocLimits::default(),
                }),
                NOV,
            )
            .await
            .unwrap();
    }
    for a in 0..20 {
        store
            .manage(
                &mgr(MgrOp::AddAccounts {
                    names: vec![format!("proj{a:02}")],
                    description: None,
                    organization: None,
                    parent: Some(format!("dept{}", a % 4)),
                    limits: AssocLimits::default(),
                }),
                NOV,
            )
            .await
            .unwrap();
    }
    for u in 0..200u64 {
        store
            .manage(
                &mgr(MgrOp::AddUsers {
                    names: vec![format!("user{u:03}")],
                    accounts: vec![account_of(u)],
                    default_account: None,
                    admin_level: None,
                    limits: AssocLimits::default(),
                    partitions: Vec::new(),
                }),
                NOV,
            )
            .await
            .unwrap();
    }
    store
        .record_capacity(
            &slurm_core::proto::CapacityRecord {
                cluster: CLUSTER.into(),
                since: NOV - 86_400,
                tres: "billing=8192,cpu=8192,gres/gpu=512,mem=16777216M,node=128".into(),
            },
            NOV,
        )
        .await
        .unwrap();
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.unwrap())
}

async fn run(label: &str, store: Store, jobs: u32, fill: bool) {
    println!("== {label}: {jobs} jobs, {} records", jobs * 3);
    if fill {
        ingest(&store, jobs).await;
    }
    queries(&store).await;
    store.close().await;
}

async fn ingest(store: &Store, jobs: u32) {
    setup_accounts(store).await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut timed = Vec::with_capacity(jobs as usize * 3);
    for id in 1..=jobs {
        timed.extend(lifecycle(id, jobs, &mut rng));
    }
    // As the controller's queue sends them: in the order things happen, in batches of 500.
    timed.sort_by_key(|(t, _)| *t);
    let events: Vec<AcctEvent> = timed.into_iter().map(|(_, e)| e).collect();
    let t = Instant::now();
    let mut seq = 0u64;
    for chunk in events.chunks(500) {
        let records = chunk
            .iter()
            .map(|e| {
                seq += 1;
                AcctRecord {
                    seq,
                    event: e.clone(),
                }
            })
            .collect();
        let req = RecordJobsRequest {
            cluster: CLUSTER.into(),
            epoch: 1,
            records,
        };
        store.record_jobs(&req, DEC + 86_400).await.unwrap();
    }
    let took = t.elapsed();
    println!(
        "ingest:                {:>9.0} records/s ({} records in {:.1} s, rollups included)",
        seq as f64 / took.as_secs_f64(),
        seq,
        took.as_secs_f64()
    );
}

async fn queries(store: &Store) {
    let now = DEC + 4 * 86_400;
    let users = slurm_core::commands::lookup::SystemUsers;
    let words: Vec<String> = [
        "-a",
        "-S",
        "2026-11-01T00:00:00",
        "-E",
        "2026-12-01T00:00:00",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let ctx = sacct::Context {
        now,
        tz_offset_secs: 0,
    };
    let Step::Run(sacct_args) = sacct::parse_args(&words, ctx, &users, CLUSTER) else {
        panic!("sacct arguments")
    };
    let rt = tokio::runtime::Handle::current();
    let (q, list) = best(3, || {
        tokio::task::block_in_place(|| rt.block_on(store.query_jobs(&sacct_args.query))).unwrap()
    });
    let list = slurm_core::proto::AcctJobList { now, jobs: list };
    let (r, out) = best(3, || sacct::render(&list, &sacct_args, 0));
    println!(
        "sacct one month:       {:>9.3} s query, {:.3} s with rendering ({} jobs, {} lines)",
        q.as_secs_f64(),
        (q + r).as_secs_f64(),
        list.jobs.len(),
        out.stdout.lines().count()
    );

    for line in [
        "cluster AccountUtilizationByUser start=2026-11-01 end=2026-12-01",
        "cluster AccountUtilizationByUser --tres=gres/gpu start=2026-11-01 end=2026-12-01 -t hours",
    ] {
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let rctx = sreport::Context {
            now,
            tz_offset_secs: 0,
        };
        let Step::Run(args) = sreport::parse_args(&words, rctx) else {
            panic!("sreport arguments")
        };
        let (start, end) = sreport::window(args.cond.start, args.cond.end, rctx);
        let uq = UsageQuery {
            clusters: vec![CLUSTER.into()],
            start,
            end,
            tres: Vec::new(),
            fallback_capacity: None,
        };
        let (q, report) = best(3, || {
            tokio::task::block_in_place(|| rt.block_on(store.usage_report(&uq, now))).unwrap()
        });
        let (r, out) = best(3, || {
            sreport::render_account_by_user(&args, &report, &sreport::NoNames, 0)
        });
        println!(
            "sreport {:<14}  {:>9.3} s query, {:.3} s with rendering ({} lines)",
            if line.contains("gpu") {
                "AUbU gpu hours"
            } else {
                "AUbU"
            },
            q.as_secs_f64(),
            (q + r).as_secs_f64(),
            out.stdout.lines().count()
        );
    }

    let (q, shares) = best(3, || {
        tokio::task::block_in_place(|| {
            rt.block_on(store.shares(
                &SharesQuery {
                    cluster: CLUSTER.into(),
                    half_life_s: 7 * 86_400,
                },
                now,
            ))
        })
        .unwrap()
    });
    println!(
        "sshare (decayed usage): {:>8.3} s ({} associations)",
        q.as_secs_f64(),
        shares.assocs.len()
    );
    let jq = JobSizesQuery {
        clusters: vec![CLUSTER.into()],
        start: NOV,
        end: DEC,
        tres: "cpu".into(),
        accounts: Vec::new(),
        grouping: vec![50, 250, 500, 1000],
        flat_view: false,
        users: Vec::new(),
        partitions: Vec::new(),
    };
    let (q, _) = best(3, || {
        tokio::task::block_in_place(|| rt.block_on(store.job_sizes(&jq, now))).unwrap()
    });
    println!("sreport job sizes:     {:>9.3} s", q.as_secs_f64());
}

/// A MySQL/MariaDB database for the bench: a new one (dropped afterwards), or the one
/// `ACCT_BENCH_MYSQL_DB` names (kept, and reused as it is when it exists). The flag says
/// whether it needs filling.
async fn mysql_store() -> Option<(Store, String, Option<String>, bool)> {
    use sqlx::Connection;
    let url = std::env::var("SLINKY_TEST_MYSQL_URL").ok()?;
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&url).await.ok()?;
    let kept = std::env::var("ACCT_BENCH_MYSQL_DB").ok();
    let name = kept
        .clone()
        .unwrap_or_else(|| format!("slinky_bench_{}", std::process::id()));
    let created = sqlx::query(&format!("CREATE DATABASE `{name}`"))
        .execute(&mut admin)
        .await
        .is_ok();
    let _ = admin.close().await;
    if !created && kept.is_none() {
        return None;
    }
    let base = url.split('?').next().unwrap_or(&url);
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    let store = Store::open(&format!("{server}/{name}")).await.ok()?;
    let drop = if kept.is_some() { None } else { Some(name) };
    Some((store, url, drop, created))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --benches` runs this binary without `--bench`: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let jobs: u32 = std::env::var("ACCT_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 500 } else { 100_000 });
    // ACCT_BENCH_DB=PATH keeps the SQLite database there (and reuses it when it exists).
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("ACCT_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("acct.db"));
    let fill = !path.exists();
    let url = format!("sqlite://{}", path.display());
    run("SQLite", Store::open(&url).await.unwrap(), jobs, fill).await;
    if quick {
        return;
    }
    match mysql_store().await {
        Some((store, server, drop, fill)) => {
            run("MySQL/MariaDB", store, jobs, fill).await;
            use sqlx::Connection;
            if let Some(name) = drop
                && let Ok(mut c) = sqlx::AnyConnection::connect(&server).await
            {
                let _ = sqlx::query(&format!("DROP DATABASE `{name}`"))
                    .execute(&mut c)
                    .await;
            }
        }
        None => println!("(MySQL/MariaDB skipped: SLINKY_TEST_MYSQL_URL unset or unreachable)"),
    }
}
