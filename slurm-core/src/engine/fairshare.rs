//! Fairshare over the account tree, Slurm's classic algorithm.
//!
//! Usage decays exponentially with `PriorityDecayHalfLife`. For a user association:
//! `S` = its normalised shares (its fraction among siblings times its parent's `S`),
//! `U` = its fraction of all decayed usage, the effective usage
//! `UE = U + (UE_parent - U) * shares / sibling_shares`, and the factor is `F = 2^(-UE/S)`.

use crate::model::Timestamp;
use std::collections::HashMap;

/// The root of the account tree.
pub const ROOT: &str = "root";

#[derive(Debug, Clone)]
struct Account {
    parent: String,
    shares: u32,
    usage: f64,
}

#[derive(Debug, Clone)]
struct UserAssoc {
    shares: u32,
    usage: f64,
}

/// Shares and decayed usage per account and user association.
#[derive(Debug, Clone)]
pub struct Fairshare {
    half_life_s: u64,
    accounts: HashMap<String, Account>,
    users: HashMap<(String, String), UserAssoc>,
    /// Per parent account: the shares of its child accounts and user associations, kept as
    /// they change (the factor of every user divides by it).
    children_shares: HashMap<String, u64>,
    decayed_to: Timestamp,
}

impl Fairshare {
    pub fn new(half_life_s: u64, now: Timestamp) -> Self {
        let mut accounts = HashMap::new();
        accounts.insert(
            ROOT.to_owned(),
            Account {
                parent: String::new(),
                shares: 1,
                usage: 0.0,
            },
        );
        Self {
            half_life_s,
            accounts,
            users: HashMap::new(),
            children_shares: HashMap::new(),
            decayed_to: now,
        }
    }

    /// Creates or updates an account under `parent` (created under root if unknown).
    pub fn set_account(&mut self, name: &str, parent: &str, shares: u32) {
        if name == ROOT {
            return;
        }
        if !self.accounts.contains_key(parent) && parent != ROOT {
            self.set_account(parent, ROOT, 1);
        }
        let entry = self.accounts.entry(name.to_owned()).or_insert(Account {
            parent: parent.to_owned(),
            shares: 0,
            usage: 0.0,
        });
        let (old_parent, old_shares) = (std::mem::take(&mut entry.parent), entry.shares);
        entry.parent = parent.to_owned();
        entry.shares = shares;
        self.move_shares(
            &old_parent,
            u64::from(old_shares),
            parent,
            u64::from(shares),
        );
    }

    /// Moves a child's shares from one parent's sum to another's (or changes them in place).
    fn move_shares(&mut self, from: &str, old: u64, to: &str, new: u64) {
        if let Some(sum) = self.children_shares.get_mut(from) {
            *sum = sum.saturating_sub(old);
        }
        *self.children_shares.entry(to.to_owned()).or_default() += new;
    }

    /// Creates or updates a user association's shares (its account is created if unknown).
    pub fn set_user(&mut self, account: &str, user: &str, shares: u32) {
        self.ensure_account(account);
        let entry = self
            .users
            .entry((account.to_owned(), user.to_owned()))
            .or_insert(UserAssoc {
                shares: 0,
                usage: 0.0,
            });
        let old = std::mem::replace(&mut entry.shares, shares);
        self.move_shares(account, u64::from(old), account, u64::from(shares));
    }

    /// Makes sure an association exists (shares 1) without changing existing ones.
    pub fn ensure_user(&mut self, account: &str, user: &str) {
        self.ensure_account(account);
        if let std::collections::hash_map::Entry::Vacant(slot) =
            self.users.entry((account.to_owned(), user.to_owned()))
        {
            slot.insert(UserAssoc {
                shares: 1,
                usage: 0.0,
            });
            self.move_shares(account, 0, account, 1);
        }
    }

    fn ensure_account(&mut self, account: &str) {
        if !self.accounts.contains_key(account) {
            self.set_account(account, ROOT, 1);
        }
    }

    /// Applies decay up to `now`.
    pub fn decay_to(&mut self, now: Timestamp) {
        if now <= self.decayed_to {
            return;
        }
        if self.half_life_s > 0 {
            let factor = 0.5f64.powf((now - self.decayed_to) as f64 / self.half_life_s as f64);
            self.accounts.values_mut().for_each(|a| a.usage *= factor);
            self.users.values_mut().for_each(|u| u.usage *= factor);
        }
        self.decayed_to = now;
    }

    /// Charges `amount` (e.g. CPU-seconds) to a user association and every account above it.
    pub fn add_usage(&mut self, account: &str, user: &str, amount: f64) {
        self.ensure_user(account, user);
        if let Some(u) = self.users.get_mut(&(account.to_owned(), user.to_owned())) {
            u.usage += amount;
        }
        let mut current = account.to_owned();
        let mut depth = 0;
        while let Some(acc) = self.accounts.get_mut(&current) {
            acc.usage += amount;
            if current == ROOT || depth > 64 {
                break;
            }
            current = acc.parent.clone();
            depth += 1;
        }
    }

    /// Replaces every usage figure with accounting's decayed usage per user association
    /// (as of `now`), rolled up the account tree. Running jobs keep being charged by the
    /// engine between two such loads.
    pub fn set_recorded_usage<'a>(
        &mut self,
        usage: impl IntoIterator<Item = (&'a str, &'a str, f64)>,
        now: Timestamp,
    ) {
        self.accounts.values_mut().for_each(|a| a.usage = 0.0);
        self.users.values_mut().for_each(|u| u.usage = 0.0);
        self.decayed_to = now;
        for (account, user, amount) in usage {
            if amount > 0.0 {
                self.add_usage(account, user, amount);
            }
        }
    }

    /// Decayed usage of a user association (sshare's RawUsage).
    pub fn user_usage(&self, account: &str, user: &str) -> f64 {
        self.users
            .get(&(account.to_owned(), user.to_owned()))
            .map_or(0.0, |u| u.usage)
    }

    fn sibling_shares(&self, parent: &str) -> f64 {
        self.children_shares
            .get(parent)
            .copied()
            .unwrap_or(0)
            .max(1) as f64
    }

    /// (normalised shares, effective usage) of an account.
    fn account_norms(&self, name: &str, total: f64, depth: usize) -> (f64, f64) {
        if name == ROOT || depth > 64 {
            return (1.0, 1.0);
        }
        let Some(acc) = self.accounts.get(name) else {
            return (1.0, 1.0);
        };
        let (parent_s, parent_ue) = self.account_norms(&acc.parent, total, depth + 1);
        let fraction = f64::from(acc.shares) / self.sibling_shares(&acc.parent);
        let u = acc.usage / total;
        (parent_s * fraction, u + (parent_ue - u) * fraction)
    }

    /// The fairshare factor in [0, 1] for a user association.
    pub fn factor(&self, account: &str, user: &str) -> f64 {
        let total = self.accounts.get(ROOT).map_or(0.0, |r| r.usage);
        if total <= 0.0 {
            return 1.0;
        }
        let (acc_s, acc_ue) = self.account_norms(account, total, 0);
        let (shares, usage) = self
            .users
            .get(&(account.to_owned(), user.to_owned()))
            .map_or((1, 0.0), |u| (u.shares, u.usage));
        let fraction = f64::from(shares) / self.sibling_shares(account);
        let s = acc_s * fraction;
        let u = usage / total;
        let ue = u + (acc_ue - u) * fraction;
        if s <= 0.0 { 0.0 } else { 2f64.powf(-ue / s) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kept sums equal a fresh count over the tree after moves and share changes.
    #[test]
    fn sibling_share_sums_follow_changes() {
        let mut fs = Fairshare::new(3600, 0);
        fs.set_account("science", ROOT, 4);
        fs.set_account("physics", "science", 3);
        fs.set_user("physics", "alice", 5);
        fs.ensure_user("physics", "bob");
        fs.ensure_user("physics", "bob");
        fs.set_user("physics", "alice", 2);
        fs.set_account("chem", "science", 1);
        fs.set_account("chem", ROOT, 6);
        fs.add_usage("bio", "carol", 1.0);
        let count = |parent: &str| -> f64 {
            let accounts: u64 = fs
                .accounts
                .iter()
                .filter(|(name, a)| a.parent == parent && name.as_str() != ROOT)
                .map(|(_, a)| u64::from(a.shares))
                .sum();
            let users: u64 = fs
                .users
                .iter()
                .filter(|((acc, _), _)| acc == parent)
                .map(|(_, u)| u64::from(u.shares))
                .sum();
            (accounts + users).max(1) as f64
        };
        for parent in [ROOT, "science", "physics", "chem", "bio", "none"] {
            assert_eq!(fs.sibling_shares(parent), count(parent), "{parent}");
        }
        assert_eq!(fs.sibling_shares(ROOT), 4.0 + 6.0 + 1.0);
        assert_eq!(fs.sibling_shares("physics"), 3.0);
    }

    #[test]
    fn heavier_user_gets_lower_factor() {
        let mut fs = Fairshare::new(3600, 0);
        fs.ensure_user("physics", "alice");
        fs.ensure_user("physics", "bob");
        assert_eq!(fs.factor("physics", "alice"), 1.0, "no usage anywhere");
        fs.add_usage("physics", "alice", 1000.0);
        assert!(fs.factor("physics", "alice") < fs.factor("physics", "bob"));
    }

    #[test]
    fn recorded_usage_replaces_what_the_engine_counted() {
        let mut fs = Fairshare::new(3600, 0);
        fs.add_usage("physics", "alice", 5000.0);
        fs.set_recorded_usage([("physics", "bob", 100.0)], 10);
        assert_eq!(fs.user_usage("physics", "alice"), 0.0);
        assert_eq!(fs.user_usage("physics", "bob"), 100.0);
        assert!(fs.factor("physics", "bob") < fs.factor("physics", "alice"));
    }

    #[test]
    fn usage_halves_after_one_half_life() {
        let mut fs = Fairshare::new(3600, 0);
        fs.add_usage("a", "u", 100.0);
        fs.decay_to(3600);
        assert!((fs.user_usage("a", "u") - 50.0).abs() < 1e-9);
    }
}
