//! What the commands look up on this host: users (`-u alice`, `--me`), group names (for
//! `GroupId=users(100)`), and the [`FormatEnv`] the formatters need.

use crate::format::FormatEnv;
use crate::model::Timestamp;
use std::collections::HashMap;

/// The user database, as the commands need it. [`SystemUsers`] asks the system (NSS);
/// tests use a fixed table.
pub trait UserDb {
    /// The uid of a user name; numeric strings are uids.
    fn uid_of(&self, name: &str) -> Option<u32>;
    /// The calling user's uid.
    fn current_uid(&self) -> u32;
    /// The name of a group, if the system knows it.
    fn group_name(&self, gid: u32) -> Option<String>;
}

/// The system's user and group database (`getpwnam_r`, `getgrgid_r`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemUsers;

impl UserDb for SystemUsers {
    fn uid_of(&self, name: &str) -> Option<u32> {
        if let Some(uid) = numeric_id(name) {
            return Some(uid);
        }
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    }

    fn current_uid(&self) -> u32 {
        nix::unistd::getuid().as_raw()
    }

    fn group_name(&self, gid: u32) -> Option<String> {
        nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
            .ok()
            .flatten()
            .map(|g| g.name)
    }
}

/// A uid or gid written as a number.
pub fn numeric_id(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The formatters' environment for a reply taken at `now`: the local time zone at that
/// moment, the names of `gids`, and the cluster's DefMemPerCPU.
pub fn format_env(
    now: Timestamp,
    tz_offset_secs: i32,
    def_mem_per_cpu_mb: Option<u64>,
    gids: impl IntoIterator<Item = u32>,
    users: &dyn UserDb,
) -> FormatEnv {
    let mut env = FormatEnv::new(now, tz_offset_secs);
    env.def_mem_per_cpu_mb = def_mem_per_cpu_mb;
    let mut names = HashMap::new();
    for gid in gids {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(gid)
            && let Some(name) = users.group_name(gid)
        {
            slot.insert(name);
        }
    }
    env.group_names = names;
    env
}

/// [`format_env`] with this host's time zone and group database.
pub fn system_format_env(
    now: Timestamp,
    def_mem_per_cpu_mb: Option<u64>,
    gids: impl IntoIterator<Item = u32>,
) -> FormatEnv {
    format_env(
        now,
        super::tz::local_offset(now),
        def_mem_per_cpu_mb,
        gids,
        &SystemUsers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl UserDb for Fixed {
        fn uid_of(&self, name: &str) -> Option<u32> {
            numeric_id(name).or((name == "alice").then_some(1000))
        }
        fn current_uid(&self) -> u32 {
            1000
        }
        fn group_name(&self, gid: u32) -> Option<String> {
            (gid == 100).then(|| "users".to_owned())
        }
    }

    #[test]
    fn group_names_are_looked_up_once_each() {
        let env = format_env(5, 3600, Some(100), [100, 100, 7], &Fixed);
        assert_eq!(env.now, 5);
        assert_eq!(env.tz_offset_secs, 3600);
        assert_eq!(env.def_mem_per_cpu_mb, Some(100));
        assert_eq!(env.group_name(100), "users");
        assert_eq!(env.group_name(7), "nobody");
        assert_eq!(env.group_name(0), "root");
    }

    #[test]
    fn numeric_ids() {
        assert_eq!(numeric_id("0"), Some(0));
        assert_eq!(numeric_id("1000"), Some(1000));
        assert_eq!(numeric_id("x1"), None);
        assert_eq!(numeric_id(""), None);
        assert_eq!(numeric_id("99999999999"), None);
        assert_eq!(SystemUsers.uid_of("0"), Some(0));
        assert_eq!(SystemUsers.uid_of("root"), Some(0));
    }
}
