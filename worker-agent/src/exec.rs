//! What the child process does between `fork` and `exec`: join the step cgroup, start a
//! session, take the user's identity, open its standard streams and change directory.
//!
//! This is the crate's only `unsafe` code: `pre_exec` runs in the forked child of a
//! multi-threaded process, where only async-signal-safe functions may be called. Everything
//! that allocates or consults the user database (paths as C strings, the group list, the
//! chdir error message) is prepared by the parent; the child makes raw system calls only
//! (`write`, `setsid`, `setgroups`, `setgid`, `setuid`, `open`, `dup2`, `close`, `chdir`)
//! and reads `errno`.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

use nix::libc;

/// The step of the child setup that failed, reported to the parent through a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    JoinCgroup = 1,
    Setsid = 2,
    Setgroups = 3,
    Setgid = 4,
    Setuid = 5,
    Stdin = 6,
    Stdout = 7,
    Stderr = 8,
    Chdir = 9,
}

impl Stage {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::JoinCgroup,
            2 => Self::Setsid,
            3 => Self::Setgroups,
            4 => Self::Setgid,
            5 => Self::Setuid,
            6 => Self::Stdin,
            7 => Self::Stdout,
            8 => Self::Stderr,
            9 => Self::Chdir,
            _ => return None,
        })
    }
}

/// The identity to switch to.
#[derive(Debug, Clone)]
pub struct SwitchUser {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

/// Everything the child needs, prepared by the parent.
#[derive(Debug)]
pub struct ChildSetup {
    /// `cgroup.procs` of the step cgroup, open for writing (owned by the parent, which keeps
    /// it open until the spawn returns).
    pub cgroup_fd: Option<RawFd>,
    pub switch_user: Option<SwitchUser>,
    pub stdin: CString,
    pub stdout: CString,
    /// `None`: stderr is the stdout file.
    pub stderr: Option<CString>,
    pub append: bool,
    pub work_dir: CString,
    /// Written to stderr before the errno text when chdir fails.
    pub chdir_message: Vec<u8>,
    /// The write end of the stage pipe (close-on-exec).
    pub report_fd: RawFd,
    /// Keep the stdin the spawner set up (a pipe) instead of opening `stdin`.
    pub keep_stdin: bool,
    /// Keep the stdout and stderr the spawner set up (pipes) instead of opening files.
    pub keep_output: bool,
}

/// Installs the setup as `cmd`'s `pre_exec` hook.
pub fn install(cmd: &mut tokio::process::Command, setup: ChildSetup) {
    // SAFETY: `run_in_child` only makes async-signal-safe system calls on data prepared
    // before the fork (no allocation, no locks, no user database lookups), which is what
    // `pre_exec` requires of code running in the forked child of a multi-threaded process.
    // The raw descriptors it uses (`cgroup_fd`, `report_fd`) are kept open by the parent
    // until `spawn` returns.
    unsafe {
        cmd.pre_exec(move || run_in_child(&setup));
    }
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Reports `stage` to the parent and returns `err` (an errno value) as the spawn error.
fn fail(setup: &ChildSetup, stage: Stage, err: i32) -> io::Result<()> {
    let byte = [stage as u8];
    // SAFETY: `write` is async-signal-safe; the buffer lives on this stack frame.
    unsafe {
        libc::write(setup.report_fd, byte.as_ptr().cast(), 1);
    }
    Err(io::Error::from_raw_os_error(err))
}

/// Opens `path` with `flags` and moves it to descriptor `target`.
fn redirect(path: &CString, flags: libc::c_int, target: RawFd) -> Result<(), i32> {
    // SAFETY: `open`, `dup2` and `close` are async-signal-safe; `path` is a valid C string
    // owned by the setup.
    unsafe {
        let fd = libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, 0o644);
        if fd < 0 {
            return Err(errno());
        }
        if fd != target {
            if libc::dup2(fd, target) < 0 {
                let e = errno();
                libc::close(fd);
                return Err(e);
            }
            libc::close(fd);
        } else {
            // Opened straight onto the target: drop close-on-exec.
            libc::fcntl(fd, libc::F_SETFD, 0);
        }
    }
    Ok(())
}

/// A few errno texts as static strings (strerror is not async-signal-safe).
fn errno_text(e: i32) -> &'static [u8] {
    match e {
        libc::ENOENT => b"No such file or directory",
        libc::EACCES => b"Permission denied",
        libc::ENOTDIR => b"Not a directory",
        libc::ELOOP => b"Too many levels of symbolic links",
        libc::ENAMETOOLONG => b"File name too long",
        _ => b"error",
    }
}

fn write_all(fd: RawFd, buf: &[u8]) {
    // SAFETY: `write` is async-signal-safe; `buf` is a valid slice.
    unsafe {
        libc::write(fd, buf.as_ptr().cast(), buf.len());
    }
}

fn run_in_child(s: &ChildSetup) -> io::Result<()> {
    // SAFETY: every call below is an async-signal-safe system call on memory owned by `s`
    // (see the module documentation).
    unsafe {
        if let Some(fd) = s.cgroup_fd
            && libc::write(fd, b"0".as_ptr().cast(), 1) != 1
        {
            return fail(s, Stage::JoinCgroup, errno());
        }
        // Jobs start with every signal at its default action and none blocked, whatever the
        // agent inherited (a daemon started under `nohup` ignores SIGHUP, and a shell cannot
        // trap a signal ignored on entry), as slurmstepd does.
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        if libc::setsid() < 0 {
            return fail(s, Stage::Setsid, errno());
        }
        if let Some(u) = &s.switch_user {
            if libc::setgroups(u.groups.len(), u.groups.as_ptr()) != 0 {
                return fail(s, Stage::Setgroups, errno());
            }
            if libc::setgid(u.gid) != 0 {
                return fail(s, Stage::Setgid, errno());
            }
            if libc::setuid(u.uid) != 0 {
                return fail(s, Stage::Setuid, errno());
            }
        }
    }
    if !s.keep_stdin
        && let Err(e) = redirect(&s.stdin, libc::O_RDONLY, 0)
    {
        return fail(s, Stage::Stdin, e);
    }
    if s.keep_output {
        return change_dir(s);
    }
    // Slurm's flags: every write goes to the end (O_APPEND) in both modes, so stdout and
    // stderr opened separately on one file do not overwrite each other; truncate empties
    // the file first.
    let mode = if s.append {
        libc::O_APPEND
    } else {
        libc::O_APPEND | libc::O_TRUNC
    };
    if let Err(e) = redirect(&s.stdout, libc::O_WRONLY | libc::O_CREAT | mode, 1) {
        return fail(s, Stage::Stdout, e);
    }
    match &s.stderr {
        Some(path) => {
            if let Err(e) = redirect(path, libc::O_WRONLY | libc::O_CREAT | mode, 2) {
                return fail(s, Stage::Stderr, e);
            }
        }
        // SAFETY: `dup2` is async-signal-safe.
        None => unsafe {
            if libc::dup2(1, 2) < 0 {
                return fail(s, Stage::Stderr, errno());
            }
        },
    }
    change_dir(s)
}

fn change_dir(s: &ChildSetup) -> io::Result<()> {
    // SAFETY: `chdir` is async-signal-safe; `work_dir` is a valid C string.
    if unsafe { libc::chdir(s.work_dir.as_ptr()) } != 0 {
        let e = errno();
        write_all(2, &s.chdir_message);
        write_all(2, errno_text(e));
        write_all(2, b"\n");
        return fail(s, Stage::Chdir, e);
    }
    Ok(())
}
