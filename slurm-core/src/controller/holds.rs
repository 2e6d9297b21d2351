//! Who holds the allocations that srun and salloc make. The command keeps a `HoldAllocation`
//! stream open for as long as it runs; when the last stream of an allocation closes (the
//! command exited, or was killed with SIGKILL and the kernel closed its socket) and none
//! comes back within [`HOLD_GRACE_S`], the allocation is revoked, as slurmctld revokes one
//! whose srun stops answering its pings. The grace lets a command reconnect after a
//! controller restart (holds are not journaled: a restarted controller starts every
//! allocation's grace afresh).

use crate::model::{JobId, Timestamp};
use std::collections::HashMap;

/// How long an allocation may go unheld before it is revoked.
pub const HOLD_GRACE_S: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hold {
    /// Open hold streams.
    holders: u32,
    /// When the last holder went away (or the allocation was made).
    unheld_since: Timestamp,
}

/// The holds of every allocation-only job the controller knows.
#[derive(Debug, Default)]
pub struct AllocationHolds {
    holds: HashMap<JobId, Hold>,
}

impl AllocationHolds {
    /// An allocation made (or restored) at `now` that nobody holds yet.
    pub fn track(&mut self, id: JobId, now: Timestamp) {
        self.holds.entry(id).or_insert(Hold {
            holders: 0,
            unheld_since: now,
        });
    }

    /// A hold stream opened.
    pub fn attach(&mut self, id: JobId, now: Timestamp) {
        self.holds
            .entry(id)
            .or_insert(Hold {
                holders: 0,
                unheld_since: now,
            })
            .holders += 1;
    }

    /// A hold stream closed at `now`.
    pub fn detach(&mut self, id: JobId, now: Timestamp) {
        if let Some(hold) = self.holds.get_mut(&id) {
            hold.holders = hold.holders.saturating_sub(1);
            if hold.holders == 0 {
                hold.unheld_since = now;
            }
        }
    }

    /// The allocation ended: nothing to watch any more.
    pub fn forget(&mut self, id: JobId) {
        self.holds.remove(&id);
    }

    /// Allocations nobody has held for the grace period, in id order.
    pub fn abandoned(&self, now: Timestamp) -> Vec<JobId> {
        let mut ids: Vec<JobId> = self
            .holds
            .iter()
            .filter(|(_, h)| h.holders == 0 && now - h.unheld_since >= HOLD_GRACE_S)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_is_abandoned_only_after_the_grace_with_no_holder() {
        let mut holds = AllocationHolds::default();
        holds.track(7, 100);
        assert!(holds.abandoned(100 + HOLD_GRACE_S - 1).is_empty());
        assert_eq!(holds.abandoned(100 + HOLD_GRACE_S), [7]);
        holds.attach(7, 105);
        holds.attach(7, 106);
        assert!(holds.abandoned(1000).is_empty(), "held");
        holds.detach(7, 200);
        assert!(holds.abandoned(1000).is_empty(), "still one holder");
        holds.detach(7, 300);
        assert!(holds.abandoned(300 + HOLD_GRACE_S - 1).is_empty());
        assert_eq!(holds.abandoned(300 + HOLD_GRACE_S), [7]);
        holds.forget(7);
        assert!(holds.abandoned(10_000).is_empty());
    }

    #[test]
    fn a_reconnect_within_the_grace_keeps_the_allocation() {
        let mut holds = AllocationHolds::default();
        holds.attach(3, 0);
        holds.detach(3, 50);
        holds.attach(3, 52);
        assert!(holds.abandoned(50 + HOLD_GRACE_S * 10).is_empty());
    }
}
