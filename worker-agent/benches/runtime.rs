//! The batch runtime measured end to end, through the real commands and daemons on loopback.
//! Prints figures; asserts nothing. Run: `cargo bench -p worker-agent --bench runtime`
//! (`-- --quick` for smaller counts).
//!
//! * serial `sbatch --wrap=true` submissions per second (one process per submission);
//! * the same with 8 parallel submitters;
//! * 1,000 trivial jobs from submission to completion on 4 local nodes;
//! * `squeue` latency (whole command) with 10,000 pending jobs;
//! * controller RSS with 10,000 pending jobs.

#[path = "../../tests/support/mod.rs"]
mod support;

use slurm_core::commands::rpc::Session;
use slurm_core::model::JobSpec;
use slurm_core::proto::{BatchScript, SubmitRequest};
use std::time::{Duration, Instant};
use support::{LocalCluster, node};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (serial_n, parallel_n, e2e_n, pending_n) = if quick {
        (100, 200, 100, 2_000)
    } else {
        (500, 1_000, 1_000, 10_000)
    };
    println!(
        "slinky batch runtime bench ({} CPUs)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Submissions: nodes drained so that only the submission path is measured.
    {
        let c = LocalCluster::start(&[node("n1", 1, 1000)], "");
        c.ok(
            "scontrol",
            &["update", "NodeName=n1", "State=DRAIN", "Reason=bench"],
        );
        let t = Instant::now();
        for _ in 0..serial_n {
            c.sbatch(&["-o", "/dev/null", "--wrap=true"]);
        }
        let dt = t.elapsed();
        println!(
            "serial sbatch:        {serial_n} submissions in {:.2} s = {:.0} /s ({:.2} ms each)",
            dt.as_secs_f64(),
            serial_n as f64 / dt.as_secs_f64(),
            dt.as_secs_f64() * 1000.0 / serial_n as f64
        );
        let t = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..parallel_n / 8 {
                        c.sbatch(&["-o", "/dev/null", "--wrap=true"]);
                    }
                });
            }
        });
        let dt = t.elapsed();
        let n = parallel_n / 8 * 8;
        println!(
            "8 parallel sbatch:    {n} submissions in {:.2} s = {:.0} /s",
            dt.as_secs_f64(),
            n as f64 / dt.as_secs_f64()
        );
    }

    // Throughput: trivial jobs on 4 nodes.
    {
        let c = LocalCluster::start(
            &[
                node("n1", 1, 1000),
                node("n2", 1, 1000),
                node("n3", 1, 1000),
                node("n4", 1, 1000),
            ],
            "",
        );
        let rt = tokio::runtime::Runtime::new().unwrap();
        let t = Instant::now();
        let last = rt.block_on(submit_many(&c, e2e_n, false));
        c.wait_state(&last.to_string(), &["COMPLETED"], Duration::from_secs(600));
        // Every job done, not just the last one.
        let deadline = Instant::now() + Duration::from_secs(600);
        while Instant::now() < deadline {
            let out = c.ok("squeue", &["-h", "-o", "%i"]);
            if out.trim().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let dt = t.elapsed();
        println!(
            "end to end:           {e2e_n} trivial jobs on 4 nodes in {:.2} s = {:.0} jobs/s",
            dt.as_secs_f64(),
            e2e_n as f64 / dt.as_secs_f64()
        );
    }

    // A deep queue: squeue latency and controller memory.
    {
        let c = LocalCluster::start(&[node("n1", 1, 1000)], "");
        let rss_before = c.controller_rss_kb();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let t = Instant::now();
        rt.block_on(submit_many(&c, pending_n, true));
        let submit_dt = t.elapsed();
        let mut samples = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            let out = c.ok("squeue", &[]);
            samples.push(t.elapsed());
            assert!(out.lines().count() > pending_n as usize / 2);
        }
        samples.sort();
        let rss_after = c.controller_rss_kb();
        println!(
            "squeue ({pending_n} pending): median {:.1} ms, max {:.1} ms (whole command, all jobs printed)",
            samples[samples.len() / 2].as_secs_f64() * 1000.0,
            samples[samples.len() - 1].as_secs_f64() * 1000.0
        );
        println!(
            "controller RSS:       {:.1} MiB with {pending_n} pending jobs ({:.1} MiB before; {:.2} KiB per job); gRPC submissions {:.0} /s",
            rss_after as f64 / 1024.0,
            rss_before as f64 / 1024.0,
            (rss_after.saturating_sub(rss_before)) as f64 / pending_n as f64,
            pending_n as f64 / submit_dt.as_secs_f64()
        );
    }
}

/// Submits `n` trivial jobs over one gRPC connection, each with its own signed credential
/// from the signer, as commands get them (held ones when `hold`); returns the last id.
async fn submit_many(c: &LocalCluster, n: u32, hold: bool) -> u32 {
    let cluster = slurm_core::config::load_slurm_conf(&c.conf)
        .unwrap()
        .cluster;
    let mut session = Session::connect_to(cluster).await.unwrap();
    let cred = slurm_core::client::current_credential();
    let mut last = 0;
    for _ in 0..n {
        let spec = JobSpec {
            name: "wrap".into(),
            user: cred.user.clone(),
            uid: cred.uid,
            gid: cred.gid,
            hold,
            work_dir: c.work.display().to_string(),
            stdout: Some("/dev/null".into()),
            ..JobSpec::default()
        };
        let reply = session
            .submit(SubmitRequest {
                spec,
                batch: BatchScript {
                    script: "#!/bin/sh\ntrue\n".into(),
                    ..BatchScript::default()
                },
            })
            .await
            .unwrap();
        last = reply.job_id;
    }
    last
}
