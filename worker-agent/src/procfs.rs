//! Reading `/proc`: per-process statistics and process-tree tracking without cgroups.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// The fields of `/proc/<pid>/stat` the agent uses. Times are in clock ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub comm: String,
    /// `R`, `S`, `D`, `Z`, ...
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub utime: u64,
    pub stime: u64,
    /// Times of waited-for children.
    pub cutime: u64,
    pub cstime: u64,
    /// Start time in ticks since boot: with the pid, identifies a process across pid reuse.
    pub starttime: u64,
    /// Virtual memory size in bytes.
    pub vsize_bytes: u64,
    pub rss_pages: u64,
}

impl ProcStat {
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }

    /// Own and reaped children's user + system time, in ticks.
    pub fn total_ticks(&self) -> u64 {
        self.utime + self.stime + self.cutime + self.cstime
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name may hold spaces and parentheses,
/// so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text.get(..open)?.trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<i64>().ok());
    let unum = |i: usize| num(i).map(|v| v.max(0) as u64);
    Some(ProcStat {
        pid,
        comm,
        state: fields.first()?.chars().next()?,
        ppid: num(1)? as i32,
        pgrp: num(2)? as i32,
        session: num(3)? as i32,
        utime: unum(11)?,
        stime: unum(12)?,
        cutime: unum(13)?,
        cstime: unum(14)?,
        starttime: unum(19)?,
        vsize_bytes: unum(20)?,
        rss_pages: unum(21)?,
    })
}

/// Reads `/proc/<pid>/stat`; `None` when the process is gone.
pub fn read_stat(pid: i32) -> Option<ProcStat> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_stat(&t))
}

/// `VmHWM` (peak RSS) from `/proc/<pid>/status`, in KiB.
pub fn read_vm_hwm_kib(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&text, "VmHWM:")
}

/// A `Key:   123 kB` line of `/proc/<pid>/status`.
pub fn parse_status_kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Every pid in `/proc`.
pub fn all_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 if unknown).
pub fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|t| u64::try_from(t).ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// The page size in KiB (4 if unknown).
pub fn page_kib() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|t| u64::try_from(t).ok())
            .map(|b| (b / 1024).max(1))
            .unwrap_or(4)
    })
}

/// Ticks as a duration.
pub fn ticks_to_duration(ticks: u64) -> Duration {
    let hz = clock_ticks();
    Duration::from_secs(ticks / hz) + Duration::from_nanos((ticks % hz) * 1_000_000_000 / hz)
}

/// True when `pid` exists, is not a zombie, and (when given) started at `starttime`.
pub fn is_alive(pid: i32, starttime: Option<u64>) -> bool {
    read_stat(pid).is_some_and(|s| !s.is_zombie() && starttime.is_none_or(|t| t == s.starttime))
}

/// A step's processes found by walking `/proc`: everything in the step's session, their
/// descendants by parent links, and processes seen before that are still alive with the
/// same start time (a daemonized child keeps being tracked after it is reparented).
/// Processes that leave the session *and* lose their parent between two scans escape: use
/// cgroups for exact tracking.
#[derive(Debug, Clone)]
pub struct ProcTree {
    session: i32,
    known: HashMap<i32, u64>,
}

impl ProcTree {
    /// Tracks the session led by `session` (the step's first process, which called setsid).
    pub fn new(session: i32) -> Self {
        Self {
            session,
            known: HashMap::new(),
        }
    }

    pub fn session(&self) -> i32 {
        self.session
    }

    /// Scans `/proc`; returns the members, zombies included.
    pub fn scan(&mut self) -> Vec<ProcStat> {
        let all: Vec<ProcStat> = all_pids().into_iter().filter_map(read_stat).collect();
        self.select(all)
    }

    /// The members of the tree among `all` (the processes of one `/proc` scan).
    pub fn select(&mut self, all: Vec<ProcStat>) -> Vec<ProcStat> {
        let mut children: HashMap<i32, Vec<usize>> = HashMap::new();
        for (i, p) in all.iter().enumerate() {
            children.entry(p.ppid).or_default().push(i);
        }
        let mut member: HashSet<usize> = HashSet::new();
        let mut queue: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.session == self.session
                    || self.known.get(&p.pid).is_some_and(|&t| t == p.starttime)
            })
            .map(|(i, _)| i)
            .collect();
        while let Some(i) = queue.pop() {
            if member.insert(i)
                && let Some(kids) = children.get(&all[i].pid)
            {
                queue.extend(kids.iter().copied());
            }
        }
        let members: Vec<ProcStat> = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| member.contains(i))
            .map(|(_, p)| p)
            .collect();
        self.known = members
            .iter()
            .filter(|p| !p.is_zombie())
            .map(|p| (p.pid, p.starttime))
            .collect();
        members
    }
}

/// True when `/proc` is mounted (the process-tree tracker needs it).
pub fn proc_available() -> bool {
    Path::new("/proc/self/stat").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: i32, ppid: i32, session: i32, state: char) -> ProcStat {
        ProcStat {
            pid,
            comm: format!("p{pid}"),
            state,
            ppid,
            pgrp: session,
            session,
            utime: 1,
            stime: 1,
            cutime: 0,
            cstime: 0,
            starttime: pid as u64 * 10,
            vsize_bytes: 4096,
            rss_pages: 1,
        }
    }

    #[test]
    fn parses_stat_lines() {
        let line = "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    7 3 2 1 20 0 1 0 98765 1000000 250 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.pid, 1234);
        assert_eq!(s.comm, "my (odd) cmd");
        assert_eq!(s.state, 'S');
        assert_eq!((s.ppid, s.pgrp, s.session), (1, 1234, 1234));
        assert_eq!((s.utime, s.stime, s.cutime, s.cstime), (7, 3, 2, 1));
        assert_eq!(s.total_ticks(), 13);
        assert_eq!(s.starttime, 98765);
        assert_eq!(s.rss_pages, 250);
        assert_eq!(s.vsize_bytes, 1_000_000);
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("1 (x) S 1").is_none());
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id() as i32;
        let s = read_stat(me).unwrap();
        assert_eq!(s.pid, me);
        assert!(is_alive(me, Some(s.starttime)));
        assert!(!is_alive(me, Some(s.starttime + 1)));
        assert!(read_vm_hwm_kib(me).unwrap() > 0);
        assert!(clock_ticks() > 0);
        assert_eq!(ticks_to_duration(clock_ticks() * 3), Duration::from_secs(3));
    }

    #[test]
    fn status_lines() {
        let text = "Name:\tx\nVmHWM:\t   5120 kB\nVmRSS:\t 4000 kB\n";
        assert_eq!(parse_status_kib(text, "VmHWM:"), Some(5120));
        assert_eq!(parse_status_kib(text, "VmRSS:"), Some(4000));
        assert_eq!(parse_status_kib(text, "VmSwap:"), None);
    }

    #[test]
    fn tree_follows_sessions_parents_and_known_processes() {
        let mut tree = ProcTree::new(100);
        // 100 leads the session; 101 is its child; 102 left the session (setsid) but is a
        // child of 101; 200 is unrelated.
        let scan1 = vec![
            stat(100, 1, 100, 'S'),
            stat(101, 100, 100, 'S'),
            stat(102, 101, 102, 'S'),
            stat(103, 102, 102, 'S'),
            stat(200, 1, 200, 'S'),
        ];
        let pids: Vec<i32> = tree.select(scan1).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![100, 101, 102, 103]);
        // 101 exited: 102 is reparented to 1 and outside the session, but still tracked.
        let scan2 = vec![
            stat(100, 1, 100, 'S'),
            stat(102, 1, 102, 'S'),
            stat(103, 102, 102, 'S'),
            stat(200, 1, 200, 'S'),
        ];
        let pids: Vec<i32> = tree.select(scan2).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![100, 102, 103]);
        // A reused pid (different start time) is not a member.
        let mut reused = stat(102, 1, 300, 'S');
        reused.starttime = 1;
        let pids: Vec<i32> = tree.select(vec![reused]).iter().map(|p| p.pid).collect();
        assert!(pids.is_empty());
    }
}
