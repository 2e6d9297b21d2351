//! Who a step runs as: uid, gid and supplementary groups, resolved before the fork (user
//! database lookups are not async-signal-safe, so the child only applies the result).

use std::ffi::CString;

use nix::unistd::{Gid, Uid, User, geteuid, getgrouplist};

use crate::step::StepUser;

/// The identity the child process takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (`initgroups` for the user), the primary gid included.
    pub groups: Vec<u32>,
    /// True when the child must switch to this identity (the agent is root and the step
    /// user is not); false when the step runs as the agent's own user.
    pub switch: bool,
}

/// Why the step cannot run as its user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("the agent runs as uid {agent} and cannot start steps as uid {wanted}")]
    NotPermitted { agent: u32, wanted: u32 },
    #[error("cannot look up the groups of user {user}: {reason}")]
    Groups { user: String, reason: String },
}

/// Resolves the identity for `user`.
///
/// As root, a step for another uid switches to it with the supplementary groups of the
/// passwd entry for that uid (a uid without a passwd entry, common in containers, gets its
/// primary gid only, with a warning). Not as root, only the agent's own uid can run.
pub fn resolve_identity(user: &StepUser) -> Result<Identity, UserError> {
    let agent = geteuid();
    if !agent.is_root() {
        if agent.as_raw() != user.uid {
            return Err(UserError::NotPermitted {
                agent: agent.as_raw(),
                wanted: user.uid,
            });
        }
        return Ok(Identity {
            uid: user.uid,
            gid: user.gid,
            groups: Vec::new(),
            switch: false,
        });
    }
    if user.uid == 0 {
        return Ok(Identity {
            uid: 0,
            gid: user.gid,
            groups: Vec::new(),
            switch: false,
        });
    }
    let entry = match User::from_uid(Uid::from_raw(user.uid)) {
        Ok(entry) => entry,
        Err(e) => {
            tracing::warn!(uid = user.uid, error = %e, "passwd lookup failed");
            None
        }
    };
    let groups = match entry {
        Some(pw) => {
            if pw.name != user.name && !user.name.is_empty() {
                tracing::warn!(
                    uid = user.uid,
                    spec_name = %user.name,
                    passwd_name = %pw.name,
                    "user name differs from the passwd entry of the uid; using the uid"
                );
            }
            let name = CString::new(pw.name.clone()).map_err(|e| UserError::Groups {
                user: pw.name.clone(),
                reason: e.to_string(),
            })?;
            let mut groups: Vec<u32> = getgrouplist(&name, Gid::from_raw(user.gid))
                .map_err(|e| UserError::Groups {
                    user: pw.name.clone(),
                    reason: e.to_string(),
                })?
                .into_iter()
                .map(Gid::as_raw)
                .collect();
            if !groups.contains(&user.gid) {
                groups.insert(0, user.gid);
            }
            groups
        }
        None => {
            tracing::warn!(
                uid = user.uid,
                "no passwd entry for the uid: running with its primary gid only"
            );
            vec![user.gid]
        }
    };
    Ok(Identity {
        uid: user.uid,
        gid: user.gid,
        groups,
        switch: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_uid_never_switches() {
        let me = geteuid().as_raw();
        let id = resolve_identity(&StepUser {
            name: String::new(),
            uid: me,
            gid: nix::unistd::getegid().as_raw(),
        })
        .unwrap();
        assert!(!id.switch);
        assert_eq!(id.uid, me);
    }

    #[test]
    fn other_uid() {
        let user = StepUser {
            name: "nobody-here".into(),
            uid: 54_321,
            gid: 54_321,
        };
        let got = resolve_identity(&user);
        if geteuid().is_root() {
            let id = got.unwrap();
            assert!(id.switch);
            assert_eq!(id.groups, vec![54_321]);
        } else {
            assert!(matches!(got, Err(UserError::NotPermitted { .. })));
        }
    }
}
