//! Step containment: cgroup v2 when the host allows it, else process-tree tracking through
//! `/proc`.
//!
//! With cgroup v2 each step gets `<root>/job_<id>/step_<step>` (`root` defaults to
//! `<cgroup2 mount>/slinky`). The child process moves itself into the step cgroup before it
//! executes anything, so every descendant is contained. Limits are set with whatever
//! controllers are available: `memory.max` and `memory.swap.max=0` from the allocated
//! memory, `cpu.max` from the CPU count, `cpuset.cpus` when the allocation names CPU ids.
//! Without controllers (a hybrid host that keeps memory/cpu on cgroup v1) the cgroup still
//! tracks processes exactly, kills them with `cgroup.kill` and accounts CPU in `cpu.stat`;
//! memory is then sampled from `/proc` and OOM kills are not detected.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use slurm_core::model::JobId;

use crate::procfs::{self, ProcStat, ProcTree};
use crate::step::StepId;

/// Controllers the agent uses when the host offers them.
pub const WANTED_CONTROLLERS: &[&str] = &["cpu", "cpuset", "memory"];

/// Resource limits for one step's container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepLimits {
    pub cpus: u32,
    /// MiB; 0: none.
    pub mem_mib: u64,
    pub cpu_ids: Option<Vec<u32>>,
}

/// What a container measured, where it can (`None`: not available in this mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerStats {
    /// `cpu.stat` `usage_usec`.
    pub cpu_usec: Option<u64>,
    /// `memory.peak` in bytes.
    pub memory_peak: Option<u64>,
    /// `memory.current` in bytes.
    pub memory_current: Option<u64>,
    /// `memory.events` `oom_kill`.
    pub oom_kills: Option<u64>,
}

/// How steps are contained on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingMode {
    /// cgroup v2 at `root`, with the listed controllers enabled for steps (possibly none).
    CgroupV2 {
        root: PathBuf,
        controllers: Vec<String>,
    },
    /// No usable cgroups: the process tree is found through `/proc`.
    ProcessTree,
}

impl fmt::Display for TrackingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CgroupV2 { root, controllers } if controllers.is_empty() => {
                write!(
                    f,
                    "cgroup v2 at {} (tracking only, no controllers)",
                    root.display()
                )
            }
            Self::CgroupV2 { root, controllers } => write!(
                f,
                "cgroup v2 at {} (controllers: {})",
                root.display(),
                controllers.join(" ")
            ),
            Self::ProcessTree => f.write_str("process tree (/proc)"),
        }
    }
}

/// A cgroup operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("step cgroup {0} already holds processes")]
    Busy(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates step containers.
pub trait CgroupManager: Send + Sync + fmt::Debug {
    fn mode(&self) -> TrackingMode;
    /// Creates the container for a step before it is launched.
    fn create(
        &self,
        job_id: JobId,
        step: StepId,
        limits: &StepLimits,
    ) -> Result<Box<dyn StepContainer>, CgroupError>;
}

/// One step's processes.
pub trait StepContainer: Send + fmt::Debug {
    /// A descriptor of `cgroup.procs` open for writing: the child writes `0` to it before
    /// it executes, joining the cgroup. `None` without cgroups.
    fn join_fd(&self) -> Option<RawFd>;
    /// The cgroup directory, if any.
    fn path(&self) -> Option<&Path>;
    /// Called once the first process runs (it leads its own session and process group).
    fn set_leader(&mut self, pid: i32);
    /// The step's processes (zombies may be included).
    fn processes(&mut self) -> Vec<ProcStat>;
    /// Sends `sig` to every live process of the step; returns how many were signalled.
    fn signal(&mut self, sig: Signal) -> usize;
    /// SIGKILL to everything (`cgroup.kill` where available).
    fn kill_all(&mut self) {
        self.signal(Signal::SIGKILL);
    }
    /// True while some process of the step is alive (zombies do not count).
    fn is_populated(&mut self) -> bool {
        self.processes().iter().any(|p| !p.is_zombie())
    }
    fn stats(&mut self) -> ContainerStats;
    /// Removes what `create` made; the step must be empty.
    fn cleanup(&mut self);
}

/// Sends `sig` to `pid`, ignoring processes that are already gone.
fn send(pid: i32, sig: Signal) -> bool {
    kill(Pid::from_raw(pid), sig).is_ok()
}

// ---------------------------------------------------------------------------------------
// cgroup v2

/// Where to put step cgroups and whether to try at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupConfig {
    /// False forces process-tree tracking.
    pub enabled: bool,
    /// The slinky cgroup; `None`: `<cgroup2 mount>/slinky`.
    pub root: Option<PathBuf>,
    /// In a container whose cgroup namespace root holds processes (the agent itself, in a
    /// Kubernetes pod), cgroup v2's "no internal processes" rule keeps controllers from
    /// being enabled below it. When set, the processes of the mount's top cgroup are moved
    /// into `<mount>/agent` first, as container-based slurmd deployments do. Off by default:
    /// it moves processes the agent does not own.
    pub evacuate_mount_root: bool,
}

impl Default for CgroupConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            root: None,
            evacuate_mount_root: false,
        }
    }
}

/// The real cgroup v2 manager.
#[derive(Debug, Clone)]
pub struct CgroupV2 {
    root: PathBuf,
    controllers: Vec<String>,
    has_kill: bool,
}

impl CgroupV2 {
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn controllers(&self) -> &[String] {
        &self.controllers
    }

    fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// Probes `config` and returns a manager, or why cgroup v2 cannot be used. Enables the
    /// wanted controllers on the path from the mount point down to the root.
    pub fn probe(config: &CgroupConfig) -> Result<Self, String> {
        if !config.enabled {
            return Err("cgroups disabled by configuration".to_owned());
        }
        let mounts = fs::read_to_string("/proc/self/mounts")
            .map_err(|e| format!("cannot read /proc/self/mounts: {e}"))?;
        let mount_points = cgroup2_mounts(&mounts);
        let mount = match &config.root {
            Some(root) => mount_points
                .iter()
                .filter(|m| root.starts_with(m))
                .max_by_key(|m| m.as_os_str().len())
                .cloned()
                .ok_or_else(|| format!("{} is not on a cgroup2 filesystem", root.display()))?,
            None => preferred_mount(&mount_points)
                .ok_or_else(|| "no cgroup2 filesystem is mounted".to_owned())?,
        };
        let root = config.root.clone().unwrap_or_else(|| mount.join("slinky"));
        fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        OpenOptions::new()
            .write(true)
            .open(root.join("cgroup.procs"))
            .map_err(|e| format!("{}/cgroup.procs is not writable: {e}", root.display()))?;

        // Controllers: available at the mount's top, then enabled level by level.
        let available = read_words(&mount.join("cgroup.controllers"));
        let missing: Vec<&str> = WANTED_CONTROLLERS
            .iter()
            .copied()
            .filter(|want| !available.iter().any(|c| c == want))
            .collect();
        if !missing.is_empty() {
            tracing::warn!(
                missing = %missing.join(","),
                mount = %mount.display(),
                "cgroup controllers not available on the cgroup2 hierarchy (absent from \
                 cgroup.controllers; a hybrid host may keep them on cgroup v1)"
            );
        }
        let mut controllers: Vec<String> = Vec::new();
        for &want in WANTED_CONTROLLERS {
            if missing.contains(&want) {
                continue;
            }
            match enable_down(&mount, &root, want, config.evacuate_mount_root) {
                Ok(()) => controllers.push(want.to_owned()),
                Err(e) => {
                    tracing::warn!(controller = want, error = %e, "cannot enable cgroup controller")
                }
            }
        }
        // A trial step-level cgroup proves we can create and remove below the root.
        let trial = root.join(format!("probe-{}", std::process::id()));
        fs::create_dir(&trial)
            .and_then(|()| fs::remove_dir(&trial))
            .map_err(|e| format!("cannot create cgroups under {}: {e}", root.display()))?;
        let has_kill = root.join("cgroup.kill").exists();
        Ok(Self {
            root,
            controllers,
            has_kill,
        })
    }
}

/// Writes `+controller` into `cgroup.subtree_control` of every directory from `mount` down
/// to `root` (inclusive), so job and step cgroups below `root` can use it.
fn enable_down(mount: &Path, root: &Path, controller: &str, evacuate: bool) -> Result<(), String> {
    let rel = root
        .strip_prefix(mount)
        .map_err(|_| format!("{} is outside {}", root.display(), mount.display()))?;
    let mut dir = mount.to_path_buf();
    let mut levels = vec![dir.clone()];
    for part in rel.components() {
        dir.push(part);
        levels.push(dir.clone());
    }
    for level in levels {
        match enable_controller(&level, controller) {
            Err(EnableError::Busy(_)) if evacuate && level == mount => {
                evacuate_processes(mount)?;
                enable_controller(&level, controller).map_err(|e| e.to_string())?;
                tracing::info!(
                    controller,
                    cgroup = %mount.display(),
                    "controller enabled after evacuating the namespace root"
                );
            }
            Err(EnableError::Busy(e)) => {
                return Err(format!(
                    "{e}: the cgroup holds processes (a container's namespace root?); \
                     see CgroupConfig::evacuate_mount_root"
                ));
            }
            Err(e) => return Err(e.to_string()),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// Moves every process of `mount`'s top cgroup into `<mount>/agent`.
fn evacuate_processes(mount: &Path) -> Result<(), String> {
    let leaf = mount.join("agent");
    match fs::create_dir(&leaf) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(format!("cannot create {}: {e}", leaf.display()));
        }
        _ => {}
    }
    let procs = leaf.join("cgroup.procs");
    let pids = read_words(&mount.join("cgroup.procs"));
    tracing::warn!(
        count = pids.len(),
        to = %leaf.display(),
        "moving the processes of the cgroup namespace root into a leaf cgroup"
    );
    for pid in pids {
        // A process may exit meanwhile; kernel threads cannot move. Neither is an error.
        if let Err(e) = fs::write(&procs, &pid) {
            tracing::debug!(pid, error = %e, "process not moved");
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum EnableError {
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Other(String),
}

fn enable_controller(dir: &Path, controller: &str) -> Result<(), EnableError> {
    let file = dir.join("cgroup.subtree_control");
    if read_words(&file).iter().any(|c| c == controller) {
        return Ok(());
    }
    fs::write(&file, format!("+{controller}")).map_err(|e| {
        let text = format!("{}: {e}", file.display());
        if e.raw_os_error() == Some(nix::errno::Errno::EBUSY as i32) {
            EnableError::Busy(text)
        } else {
            EnableError::Other(text)
        }
    })
}

fn read_words(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .map(|t| t.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The mount points of cgroup2 filesystems in `/proc/self/mounts` text.
pub fn cgroup2_mounts(mounts: &str) -> Vec<PathBuf> {
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, point, fstype) = (f.next()?, f.next()?, f.next()?);
            (fstype == "cgroup2").then(|| PathBuf::from(unescape_mount(point)))
        })
        .collect()
}

/// The cgroup2 mount the agent uses by default (see [`preferred_mount`]), if any.
pub fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    preferred_mount(&cgroup2_mounts(&mounts))
}

/// `/sys/fs/cgroup` (unified host), then `/sys/fs/cgroup/unified` (hybrid), then the first.
fn preferred_mount(points: &[PathBuf]) -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .find_map(|want| points.iter().find(|p| p.as_path() == Path::new(want)))
        .or_else(|| points.first())
        .cloned()
}

/// `/proc/mounts` escapes spaces and the like as `\040`.
fn unescape_mount(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(oct) = bytes.get(i + 1..i + 4)
            && let Ok(oct) = std::str::from_utf8(oct)
            && let Ok(v) = u8::from_str_radix(oct, 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl CgroupManager for CgroupV2 {
    fn mode(&self) -> TrackingMode {
        TrackingMode::CgroupV2 {
            root: self.root.clone(),
            controllers: self.controllers.clone(),
        }
    }

    fn create(
        &self,
        job_id: JobId,
        step: StepId,
        limits: &StepLimits,
    ) -> Result<Box<dyn StepContainer>, CgroupError> {
        let job_dir = self.root.join(format!("job_{job_id}"));
        match fs::create_dir(&job_dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(io_err(&job_dir)(e));
            }
            _ => {}
        }
        for c in &self.controllers {
            if let Err(e) = enable_controller(&job_dir, c) {
                tracing::warn!(error = %e, "cannot enable controller for the job cgroup");
            }
        }
        let dir = job_dir.join(step.cgroup_name());
        // Another step of the job ending at this moment may remove the (then empty) job
        // cgroup between the two mkdirs: make it again and retry.
        let mut attempts = 0;
        loop {
            match fs::create_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !read_words(&dir.join("cgroup.procs")).is_empty() {
                        return Err(CgroupError::Busy(dir));
                    }
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 5 => {
                    attempts += 1;
                    match fs::create_dir(&job_dir) {
                        Ok(()) => {
                            for c in &self.controllers {
                                let _ = enable_controller(&job_dir, c);
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(io_err(&job_dir)(e)),
                    }
                }
                Err(e) => return Err(io_err(&dir)(e)),
            }
        }
        let write = |name: &str, value: &str| {
            let path = dir.join(name);
            if let Err(e) = fs::write(&path, value) {
                tracing::warn!(path = %path.display(), value, error = %e, "cannot set cgroup limit");
            }
        };
        if self.has("memory") && limits.mem_mib > 0 {
            write("memory.max", &(limits.mem_mib * 1024 * 1024).to_string());
            if dir.join("memory.swap.max").exists() {
                write("memory.swap.max", "0");
            }
        }
        if self.has("cpu") && limits.cpus > 0 {
            write(
                "cpu.max",
                &format!("{} 100000", u64::from(limits.cpus) * 100_000),
            );
        }
        if self.has("cpuset")
            && let Some(ids) = &limits.cpu_ids
            && !ids.is_empty()
        {
            let list: Vec<String> = ids.iter().map(u32::to_string).collect();
            write("cpuset.cpus", &list.join(","));
        }
        let procs_path = dir.join("cgroup.procs");
        let procs = OpenOptions::new()
            .write(true)
            .open(&procs_path)
            .map_err(io_err(&procs_path))?;
        Ok(Box::new(CgroupStep {
            dir,
            job_dir,
            procs,
            has_kill: self.has_kill,
        }))
    }
}

/// One step's cgroup.
#[derive(Debug)]
pub struct CgroupStep {
    dir: PathBuf,
    job_dir: PathBuf,
    procs: File,
    has_kill: bool,
}

/// The process ids in a step cgroup.
pub(crate) fn cgroup_pids(dir: &Path) -> Vec<i32> {
    read_words(&dir.join("cgroup.procs"))
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// CPU time, memory and OOM kills of a step cgroup (fields the host lacks stay unset).
pub(crate) fn cgroup_stats(dir: &Path) -> ContainerStats {
    let keyed = |file: &str, key: &str| -> Option<u64> {
        let text = fs::read_to_string(dir.join(file)).ok()?;
        text.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == key).then(|| w.next()?.parse().ok())?
        })
    };
    let number = |file: &str| -> Option<u64> {
        fs::read_to_string(dir.join(file)).ok()?.trim().parse().ok()
    };
    ContainerStats {
        cpu_usec: keyed("cpu.stat", "usage_usec"),
        memory_peak: number("memory.peak"),
        memory_current: number("memory.current"),
        oom_kills: keyed("memory.events", "oom_kill"),
    }
}

/// Kills everything in a step cgroup at once through `cgroup.kill` (kernel 5.14+).
pub(crate) fn cgroup_kill(dir: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut f| f.write_all(b"1"))
}

impl StepContainer for CgroupStep {
    fn join_fd(&self) -> Option<RawFd> {
        Some(self.procs.as_raw_fd())
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn set_leader(&mut self, _pid: i32) {}

    fn processes(&mut self) -> Vec<ProcStat> {
        cgroup_pids(&self.dir)
            .into_iter()
            .filter_map(procfs::read_stat)
            .collect()
    }

    fn signal(&mut self, sig: Signal) -> usize {
        cgroup_pids(&self.dir)
            .into_iter()
            .filter(|&p| send(p, sig))
            .count()
    }

    fn kill_all(&mut self) {
        if self.has_kill {
            match cgroup_kill(&self.dir) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(path = %self.dir.display(), error = %e, "cgroup.kill failed")
                }
            }
        }
        self.signal(Signal::SIGKILL);
    }

    fn is_populated(&mut self) -> bool {
        !cgroup_pids(&self.dir).is_empty()
    }

    fn stats(&mut self) -> ContainerStats {
        cgroup_stats(&self.dir)
    }

    fn cleanup(&mut self) {
        if let Err(e) = fs::remove_dir(&self.dir) {
            tracing::warn!(path = %self.dir.display(), error = %e, "cannot remove step cgroup");
        }
        // The job cgroup goes once its last step is gone; other steps may still run.
        let _ = fs::remove_dir(&self.job_dir);
    }
}

// ---------------------------------------------------------------------------------------
// No cgroups

/// Process-tree tracking through `/proc` (sessions and parent links).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCgroups;

impl CgroupManager for NoCgroups {
    fn mode(&self) -> TrackingMode {
        TrackingMode::ProcessTree
    }

    fn create(
        &self,
        _job_id: JobId,
        _step: StepId,
        _limits: &StepLimits,
    ) -> Result<Box<dyn StepContainer>, CgroupError> {
        Ok(Box::new(ProcTreeStep { tree: None }))
    }
}

/// One step tracked by walking `/proc`.
#[derive(Debug)]
pub struct ProcTreeStep {
    tree: Option<ProcTree>,
}

impl StepContainer for ProcTreeStep {
    fn join_fd(&self) -> Option<RawFd> {
        None
    }

    fn path(&self) -> Option<&Path> {
        None
    }

    fn set_leader(&mut self, pid: i32) {
        self.tree = Some(ProcTree::new(pid));
    }

    fn processes(&mut self) -> Vec<ProcStat> {
        self.tree.as_mut().map(ProcTree::scan).unwrap_or_default()
    }

    fn signal(&mut self, sig: Signal) -> usize {
        let Some(session) = self.tree.as_ref().map(ProcTree::session) else {
            return 0;
        };
        // The process group first (one syscall, no race with forks inside it), then any
        // member that moved to another group or session.
        let _ = killpg(Pid::from_raw(session), sig);
        self.processes()
            .iter()
            .filter(|p| !p.is_zombie())
            .filter(|p| p.pgrp == session || send(p.pid, sig))
            .count()
    }

    fn stats(&mut self) -> ContainerStats {
        ContainerStats::default()
    }

    fn cleanup(&mut self) {}
}

/// Picks cgroup v2 when [`CgroupV2::probe`] succeeds, else process-tree tracking, and logs
/// which and why.
pub fn select_cgroup_manager(config: &CgroupConfig) -> Arc<dyn CgroupManager> {
    match CgroupV2::probe(config) {
        Ok(cg) => {
            let mode = cg.mode();
            if cg.controllers.iter().any(|c| c == "memory") {
                tracing::info!(%mode, "step containment: cgroup v2");
            } else {
                tracing::warn!(
                    %mode,
                    "step containment: cgroup v2 without the memory controller: memory limits \
                     and OUT_OF_MEMORY detection are off, memory usage is sampled from /proc"
                );
            }
            Arc::new(cg)
        }
        Err(reason) => {
            tracing::warn!(
                %reason,
                "step containment: cgroup v2 is not usable; tracking process trees through /proc \
                 (no limits, no OOM detection)"
            );
            if !procfs::proc_available() {
                tracing::error!("/proc is not mounted: steps cannot be tracked or accounted");
            }
            Arc::new(NoCgroups)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cgroup2_mounts() {
        let text = "\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
cgroup2 /mnt/my\\040cg cgroup2 rw 0 0
";
        let points = cgroup2_mounts(text);
        assert_eq!(
            points,
            vec![
                PathBuf::from("/sys/fs/cgroup/unified"),
                PathBuf::from("/mnt/my cg")
            ]
        );
        assert_eq!(
            preferred_mount(&points),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let unified = cgroup2_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
        assert_eq!(
            preferred_mount(&unified),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(preferred_mount(&[]), None);
    }

    #[test]
    fn disabled_config_is_refused() {
        let cfg = CgroupConfig {
            enabled: false,
            ..CgroupConfig::default()
        };
        assert!(CgroupV2::probe(&cfg).unwrap_err().contains("disabled"));
        assert_eq!(
            select_cgroup_manager(&cfg).mode(),
            TrackingMode::ProcessTree
        );
    }

    #[test]
    fn root_outside_cgroup2_is_refused() {
        let cfg = CgroupConfig {
            root: Some(PathBuf::from("/tmp/not-a-cgroup")),
            ..CgroupConfig::default()
        };
        let err = CgroupV2::probe(&cfg).unwrap_err();
        assert!(
            err.contains("cgroup2") || err.contains("no cgroup2"),
            "{err}"
        );
    }

    #[test]
    fn mode_display() {
        let m = TrackingMode::CgroupV2 {
            root: PathBuf::from("/sys/fs/cgroup/slinky"),
            controllers: vec![],
        };
        assert!(m.to_string().contains("tracking only"));
        assert_eq!(
            TrackingMode::ProcessTree.to_string(),
            "process tree (/proc)"
        );
    }
}
