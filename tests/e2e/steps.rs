//! Job steps: `srun` alone and inside batch jobs, `salloc`, stdin, labels, exit codes,
//! Ctrl-C, `scancel JOB.STEP`.

use crate::support::{LocalCluster, node, slinky};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

fn two_nodes() -> LocalCluster {
    LocalCluster::start(&[node("n1", 2, 1000), node("n2", 2, 1000)], "")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn srun_alone_on_one_node_two_nodes_and_four_tasks() {
    let c = two_nodes();
    let out = c.run(
        "srun",
        &[
            "sh",
            "-c",
            "echo task=$SLURM_PROCID of $SLURM_NTASKS on $SLURMD_NODENAME step=$SLURM_STEP_ID",
        ],
    );
    assert!(out.status.success(), "{}{}", text(&out.stderr), c.logs());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("task=0 of 1 on n"), "{stdout}");
    assert!(stdout.ends_with(" step=0\n"), "{stdout}");
    assert!(
        !text(&out.stderr).contains("queued"),
        "{}",
        text(&out.stderr)
    );

    let out = c.run(
        "srun",
        &[
            "-N",
            "2",
            "-l",
            "sh",
            "-c",
            "echo $SLURMD_NODENAME $SLURM_NODEID $SLURM_STEP_NUM_NODES $SLURM_STEP_NODELIST",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        sorted_lines(&text(&out.stdout)),
        ["0: n1 0 2 n[1-2]", "1: n2 1 2 n[1-2]"]
    );

    let out = c.run(
        "srun",
        &["-n", "4", "-l", "sh", "-c", "echo $SLURM_PROCID $SLURM_LOCALID $SLURM_NODEID $SLURM_STEP_NUM_TASKS; exit $SLURM_PROCID"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(
        sorted_lines(&text(&out.stdout)),
        ["0: 0 0 0 4", "1: 1 1 0 4", "2: 2 0 1 4", "3: 3 1 1 4"]
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("srun: error: n1: task 1: Exited with exit code 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("srun: error: n2: task 2: Exited with exit code 2"),
        "{stderr}"
    );
    // The srun-made jobs are over: COMPLETED, COMPLETED, FAILED.
    let q = c.ok("squeue", &["-h", "-t", "all", "-o", "%i %T"]);
    let states: Vec<&str> = q.lines().collect();
    assert_eq!(states.len(), 3, "{q}");
    assert!(states.contains(&"3 FAILED"), "{q}");
    let show = c.ok("scontrol", &["show", "job", "3"]);
    assert!(show.contains("ExitCode=3:0"), "{show}");
}

#[test]
fn srun_errors_and_signals() {
    let c = two_nodes();
    let out = c.run("srun", &["-p", "nosuch", "-n1", "hostname"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "srun: error: invalid partition specified: nosuch\n\
         srun: error: Unable to allocate resources: Invalid partition name specified\n"
    );
    let out = c.run("srun", &["-n", "9", "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // With every CPU taken, srun says it waits, then runs.
    let busy = c.sbatch(&["-N", "2", "-c", "2", "--wrap", "sleep 2"]);
    c.wait_state(&busy.to_string(), &["RUNNING"], T);
    let out = c.run("srun", &["echo", "ran"]);
    assert_eq!(text(&out.stdout), "ran\n");
    let id = busy + 1;
    assert_eq!(
        text(&out.stderr),
        format!(
            "srun: job {id} queued and waiting for resources\n\
             srun: job {id} has been allocated resources\n"
        )
    );
    let out = c.run("srun", &["sh", "-c", "kill -9 $$"]);
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(": task 0: Killed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stdin_goes_to_task_zero() {
    let c = two_nodes();
    let mut child = c
        .cmd("srun")
        .args(["-n", "2", "-l", "sh", "-c", "cat; echo done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello\nworld\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        sorted_lines(&text(&out.stdout)),
        ["0: done", "0: hello", "0: world", "1: done"]
    );
}

#[test]
fn srun_inside_a_batch_job_makes_steps() {
    let c = two_nodes();
    let script = c.script(
        "steps.sh",
        &format!(
            "#!/bin/sh\n#SBATCH -N 2\n#SBATCH -o steps.out\n\
             env -i SLURM_JOB_ID=$SLURM_JOB_ID SLURM_CONF=$SLURM_CONF PATH=$PATH {s} srun -l sh -c 'echo step $SLURM_STEP_ID on $SLURMD_NODENAME'\n\
             {s} srun -n 1 sh -c 'echo second $SLURM_STEP_ID $SLURM_JOB_ID'\n",
            s = slinky().display()
        ),
    );
    let id = c.sbatch(&[script.to_str().unwrap()]);
    c.wait_state(&id.to_string(), &["COMPLETED"], T);
    let out = c.read_when_ready("steps.out", T);
    let mut lines = sorted_lines(&out);
    lines.sort();
    assert_eq!(
        lines,
        [
            "0: step 0 on n1".to_owned(),
            "1: step 0 on n2".to_owned(),
            format!("second 1 {id}"),
        ],
        "{}",
        c.logs()
    );
}

#[test]
fn salloc_runs_a_command_with_the_allocation() {
    let c = two_nodes();
    let cmd = format!(
        "echo job=$SLURM_JOB_ID nodes=$SLURM_JOB_NODELIST n=$SLURM_JOB_NUM_NODES; {} srun -l hostname >/dev/null; {} srun -l sh -c 'echo $SLURM_STEP_ID'",
        slinky().display(),
        slinky().display()
    );
    let out = c.run("salloc", &["-N", "2", "sh", "-c", &cmd]);
    assert!(out.status.success(), "{}{}", text(&out.stderr), c.logs());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("job=1 nodes=n[1-2] n=2\n"), "{stdout}");
    assert!(
        stdout.contains("0: 1\n") && stdout.contains("1: 1\n"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("salloc: Granted job allocation 1\n"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("salloc: Relinquishing job allocation 1\n"),
        "{stderr}"
    );
    c.wait_state("1", &["COMPLETED"], T);
}

fn wait_for_file(path: &std::path::Path) {
    let deadline = Instant::now() + T;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_twice_cancels_the_step() {
    let c = two_nodes();
    let marker = c.work.join("started");
    let child = c
        .cmd("srun")
        .args([
            "-n",
            "2",
            "sh",
            "-c",
            &format!("touch {}; sleep 60", marker.display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&marker);
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("srun: interrupt (one more within 1 sec to abort)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("srun: StepId=1.0 tasks 0-1: running\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("srun: sending Ctrl-C to StepId=1.0\n"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    c.wait_state("1", &["FAILED", "CANCELLED"], T);
}

#[test]
fn scancel_of_one_step() {
    let c = two_nodes();
    let marker = c.work.join("step-started");
    let script = c.script(
        "cancel-step.sh",
        &format!(
            "#!/bin/sh\n#SBATCH -o cancel-step.out\n\
             {s} srun sh -c 'touch {m}; sleep 60'\necho srun exited $?\n",
            s = slinky().display(),
            m = marker.display()
        ),
    );
    let id = c.sbatch(&[script.to_str().unwrap()]);
    wait_for_file(&marker);
    c.ok("scancel", &[&format!("{id}.0")]);
    c.wait_state(&id.to_string(), &["COMPLETED"], T);
    let out = c.read_when_ready("cancel-step.out", T);
    assert!(out.contains("srun exited 143"), "{out}");
}

#[test]
fn ctrl_c_while_waiting_gives_the_allocation_back() {
    let c = two_nodes();
    let busy = c.sbatch(&["-N", "2", "-c", "2", "--wrap", "sleep 20"]);
    c.wait_state(&busy.to_string(), &["RUNNING"], T);
    let child = c
        .cmd("srun")
        .args(["true"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waiting = (busy + 1).to_string();
    c.wait_state(&waiting, &["PENDING"], T);
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.ends_with(&format!(
            "srun: Job allocation {waiting} has been revoked.\n"
        )),
        "{stderr}"
    );
    c.wait_state(&waiting, &["CANCELLED"], T);
    c.ok("scancel", &[&busy.to_string()]);
}

#[test]
fn parallel_steps_wait_for_cpus_unless_exact_or_overlap() {
    let c = two_nodes();
    let s = slinky().display().to_string();
    // Each step's first task marks that it runs; the script waits for the mark, so the
    // next step is created while the first still holds its CPUs.
    let script = c.script(
        "parallel.sh",
        &format!(
            "#!/bin/sh\n#SBATCH -N 1 -n 2\n#SBATCH -o parallel.out\n\
             mark() {{ while [ ! -f $1 ]; do sleep 0.1; done; }}\n\
             {s} srun -n1 sh -c 'touch a.run; sleep 2; echo a' &\n\
             mark a.run\n\
             {s} srun --overlap -n1 sh -c 'echo overlap' 2>overlap.err\n\
             {s} srun -n1 sh -c 'echo b' 2>b.err\n\
             wait\n\
             {s} srun --exact -n1 sh -c 'touch c.run; sleep 2; echo c' &\n\
             mark c.run\n\
             {s} srun --exclusive -n1 sh -c 'echo d' 2>d.err\n\
             wait\n"
        ),
    );
    let id = c.sbatch(&[script.to_str().unwrap()]);
    c.wait_state(&id.to_string(), &["COMPLETED"], T);
    let out = c.read_when_ready("parallel.out", T);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["overlap", "a", "b", "d", "c"], "{out}{}", c.logs());
    let read = |name: &str| std::fs::read_to_string(c.work.join(name)).unwrap();
    assert_eq!(read("overlap.err"), "", "--overlap shares the CPUs");
    assert_eq!(
        read("b.err"),
        format!(
            "srun: Job {id} step creation temporarily disabled, retrying (Requested nodes are busy)\n\
             srun: Step created for StepId={id}.2\n"
        ),
        "a default step holds every CPU of the job on its node"
    );
    assert_eq!(read("d.err"), "", "--exact steps share the node");
}

#[test]
fn a_killed_srun_gives_its_allocation_back() {
    let c = two_nodes();
    let marker = c.work.join("held");
    let mut child = c
        .cmd("srun")
        .args([
            "sh",
            "-c",
            &format!("touch {}; sleep 120", marker.display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&marker);
    let show = c.ok("scontrol", &["show", "job", "1"]);
    assert!(show.contains(" BatchFlag=0 "), "{show}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = child.wait();
    // Revoked after the grace that lets a command reconnect (10 s), not at the time limit.
    c.wait_state("1", &["CANCELLED"], Duration::from_secs(40));
    // Its step's tasks were killed and the nodes are free again.
    let out = c.run("srun", &["-N", "2", "true"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
