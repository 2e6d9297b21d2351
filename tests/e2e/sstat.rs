//! `sstat` end to end: a batch job with a two-node srun step; agents send their tasks' usage
//! with heartbeats and `sstat` shows it (`JOB.batch`, `JOB.0`, `-a`, `-o`, `-P`), then Slurm's
//! errors for unknown and finished jobs.

use crate::support::{LocalCluster, node, slinky};
use std::time::{Duration, Instant};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A size as sstat prints it (`44276K`, `1.50M`, `0`) in KiB.
fn kib(s: &str) -> f64 {
    let (num, mult) = match s.chars().last() {
        Some('K') => (&s[..s.len() - 1], 1.0),
        Some('M') => (&s[..s.len() - 1], 1024.0),
        Some('G') => (&s[..s.len() - 1], 1024.0 * 1024.0),
        _ => (s, 1.0 / 1024.0),
    };
    num.parse::<f64>().unwrap_or(0.0) * mult
}

#[test]
fn sstat_shows_live_usage_of_running_steps() {
    let c = LocalCluster::start(&[node("n1", 2, 1000), node("n2", 2, 1000)], "");
    // Each task holds 40 MiB and burns over a second of CPU, then waits to be measured.
    let hog = "import time\nx = bytearray(40 << 20)\n\
               while time.process_time() < 1.2: pass\ntime.sleep(120)\n";
    std::fs::write(c.work.join("hog.py"), hog).unwrap();
    let script = c.script(
        "stat.sh",
        &format!(
            "#!/bin/sh\n{} srun -n 2 python3 hog.py\n",
            slinky().display()
        ),
    );
    let id = c.sbatch(&[
        "-N",
        "2",
        "-n",
        "2",
        "-o",
        "stat-%j.out",
        script.to_str().unwrap(),
    ]);
    let job = id.to_string();
    c.wait_state(&job, &["RUNNING"], Duration::from_secs(30));

    // Both steps appear with their usage once the agents have sampled and reported them.
    let deadline = Instant::now() + Duration::from_secs(40);
    let (batch, step0) = loop {
        let out = c.run(
            "sstat",
            &[
                "-a",
                "-P",
                "-n",
                "-j",
                &job,
                "-o",
                "JobID,NTasks,Nodelist,MaxRSS,MaxRSSNode,AveCPU,TRESUsageInTot",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<Vec<String>> = stdout
            .lines()
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect();
        let find = |name: &str| lines.iter().find(|f| f[0] == name).cloned();
        if let (Some(b), Some(s)) = (find(&format!("{id}.batch")), find(&format!("{id}.0")))
            && s[1] == "2"
            && kib(&s[3]) >= 40.0 * 1024.0
            && s[5] != "00:00:00"
        {
            break (b, s);
        }
        assert!(
            Instant::now() < deadline,
            "sstat never showed both steps' usage; last:\n{stdout}{}\n{}",
            text(&out.stderr),
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(batch[1], "1");
    assert_eq!(batch[2], "n1");
    assert_eq!(step0[2], "n[1-2]");
    assert!(step0[4] == "n1" || step0[4] == "n2", "{step0:?}");
    assert!(step0[6].starts_with("cpu=00:00:0"), "{step0:?}");
    assert!(step0[6].contains(",mem=") && step0[6].contains(",vmem="));

    // Without a step: the first srun step only; fixed-width columns as Slurm prints them.
    let out = c.ok("sstat", &["-j", &job, "-o", "jobid,ntasks"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "JobID          NTasks ");
    assert_eq!(lines[1], "------------ -------- ");
    assert_eq!(lines[2], format!("{:<12}        2 ", format!("{id}.0")));
    assert_eq!(lines.len(), 3, "{out}");
    let out = c.ok(
        "sstat",
        &["-n", "-p", "-j", &format!("{job}.batch"), "-o", "JobID"],
    );
    assert_eq!(out, format!("{id}.batch|\n"));

    // Unknown jobs and steps: Slurm's errors on stderr, exit status 0.
    let out = c.run("sstat", &["-n", "-j", &format!("999999,{job}.7")]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!(
            "sstat: error: couldn't get steps for job 999999\n\
             sstat: error: StepId={id}.7 not found running.\n"
        )
    );

    // A finished job has no running steps.
    c.ok("scancel", &[&job]);
    c.wait_state(&job, &["CANCELLED"], Duration::from_secs(30));
    let out = c.run("sstat", &["-j", &job]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!("sstat: error: No steps running for job {id}\n")
    );
}
