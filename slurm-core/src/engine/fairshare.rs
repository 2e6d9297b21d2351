//! Fairshare over the account tree, Slurm's classic algorithm.
//!
//! Usage decays exponentially with `PriorityDecayHalfLife`. For a user association:
//! `S` = its normalised shares (its fraction among siblings times its parent's `S`),
//! `U` = its fraction of all decayed usage, the effective usage
//! `UE = U + (UE_parent - U) * shares / sibling_shares`, and the factor is `F = 2^(-UE/S)`.
//!
//! Accounts and user associations are kept by index: names are looked up once (when a job
//! is submitted, or first charged), and a pass computes factors and charges usage by
//! [`UserId`] without hashing a name.

use crate::model::Timestamp;
use std::collections::HashMap;

/// The root of the account tree.
pub const ROOT: &str = "root";

/// The root's index in [`Fairshare::accounts`].
const ROOT_ID: usize = 0;

/// Deepest account tree walked (a guard against a cycle of parents).
const MAX_DEPTH: usize = 64;

/// A user association's index. Associations are never removed, so it stays valid for the
/// life of the [`Fairshare`] that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(usize);

impl UserId {
    /// Its position among [`Fairshare::user_count`] associations (for per-pass tables).
    pub fn index(self) -> usize {
        self.0
    }
}

#[derive(Debug, Clone)]
struct Account {
    /// Index of the parent account (the root is its own parent).
    parent: usize,
    shares: u32,
    usage: f64,
    /// The shares of its child accounts and user associations, kept as they change (the
    /// factor of every user below divides by it).
    children_shares: u64,
}

#[derive(Debug, Clone)]
struct UserAssoc {
    account: usize,
    shares: u32,
    usage: f64,
}

/// Shares and decayed usage per account and user association.
#[derive(Debug, Clone)]
pub struct Fairshare {
    half_life_s: u64,
    accounts: Vec<Account>,
    account_ids: HashMap<String, usize>,
    users: Vec<UserAssoc>,
    /// By account name, then user name (looked up by `&str`, without building a key).
    user_ids: HashMap<String, HashMap<String, UserId>>,
    decayed_to: Timestamp,
}

impl Fairshare {
    pub fn new(half_life_s: u64, now: Timestamp) -> Self {
        Self {
            half_life_s,
            accounts: vec![Account {
                parent: ROOT_ID,
                shares: 1,
                usage: 0.0,
                children_shares: 0,
            }],
            account_ids: HashMap::from([(ROOT.to_owned(), ROOT_ID)]),
            users: Vec::new(),
            user_ids: HashMap::new(),
            decayed_to: now,
        }
    }

    /// Creates or updates an account under `parent` (created under root if unknown).
    pub fn set_account(&mut self, name: &str, parent: &str, shares: u32) {
        if name == ROOT {
            return;
        }
        let parent = self.ensure_account(parent);
        let id = match self.account_ids.get(name) {
            Some(&id) => {
                let old = &self.accounts[id];
                let (old_parent, old_shares) = (old.parent, u64::from(old.shares));
                let sum = &mut self.accounts[old_parent].children_shares;
                *sum = sum.saturating_sub(old_shares);
                id
            }
            None => self.add_account(name, parent),
        };
        self.accounts[id].parent = parent;
        self.accounts[id].shares = shares;
        self.accounts[parent].children_shares += u64::from(shares);
    }

    /// A new account (no shares yet) under `parent`.
    fn add_account(&mut self, name: &str, parent: usize) -> usize {
        let id = self.accounts.len();
        self.accounts.push(Account {
            parent,
            shares: 0,
            usage: 0.0,
            children_shares: 0,
        });
        self.account_ids.insert(name.to_owned(), id);
        id
    }

    /// The account's index, created under root with one share when unknown.
    fn ensure_account(&mut self, account: &str) -> usize {
        if let Some(&id) = self.account_ids.get(account) {
            return id;
        }
        self.set_account(account, ROOT, 1);
        self.account_ids.get(account).copied().unwrap_or(ROOT_ID)
    }

    /// A user association's index, if it exists.
    pub fn user_id(&self, account: &str, user: &str) -> Option<UserId> {
        self.user_ids.get(account)?.get(user).copied()
    }

    /// The association's index, created with no shares when unknown (its account too).
    fn user_entry(&mut self, account: &str, user: &str) -> (UserId, bool) {
        if let Some(id) = self.user_id(account, user) {
            return (id, false);
        }
        let account_id = self.ensure_account(account);
        let id = UserId(self.users.len());
        self.users.push(UserAssoc {
            account: account_id,
            shares: 0,
            usage: 0.0,
        });
        self.user_ids
            .entry(account.to_owned())
            .or_default()
            .insert(user.to_owned(), id);
        (id, true)
    }

    /// Creates or updates a user association's shares (its account is created if unknown).
    pub fn set_user(&mut self, account: &str, user: &str, shares: u32) -> UserId {
        let (id, _) = self.user_entry(account, user);
        let assoc = &mut self.users[id.0];
        let old = std::mem::replace(&mut assoc.shares, shares);
        let sum = &mut self.accounts[assoc.account].children_shares;
        *sum = sum.saturating_sub(u64::from(old)) + u64::from(shares);
        id
    }

    /// Makes sure an association exists (shares 1) without changing existing ones.
    pub fn ensure_user(&mut self, account: &str, user: &str) -> UserId {
        let (id, created) = self.user_entry(account, user);
        if created {
            let assoc = &mut self.users[id.0];
            assoc.shares = 1;
            self.accounts[assoc.account].children_shares += 1;
        }
        id
    }

    /// How many user associations there are (every [`UserId`] is below it).
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Applies decay up to `now`.
    pub fn decay_to(&mut self, now: Timestamp) {
        if now <= self.decayed_to {
            return;
        }
        if self.half_life_s > 0 {
            let factor = 0.5f64.powf((now - self.decayed_to) as f64 / self.half_life_s as f64);
            self.accounts.iter_mut().for_each(|a| a.usage *= factor);
            self.users.iter_mut().for_each(|u| u.usage *= factor);
        }
        self.decayed_to = now;
    }

    /// Charges `amount` (e.g. CPU-seconds) to a user association and every account above it.
    pub fn add_usage(&mut self, account: &str, user: &str, amount: f64) {
        let id = self.ensure_user(account, user);
        self.add_usage_to(id, amount);
    }

    /// [`Fairshare::add_usage`] by index.
    pub fn add_usage_to(&mut self, id: UserId, amount: f64) {
        let Some(assoc) = self.users.get_mut(id.0) else {
            return;
        };
        assoc.usage += amount;
        let mut current = assoc.account;
        for _ in 0..=MAX_DEPTH {
            let acc = &mut self.accounts[current];
            acc.usage += amount;
            if current == ROOT_ID {
                break;
            }
            current = acc.parent;
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
        self.accounts.iter_mut().for_each(|a| a.usage = 0.0);
        self.users.iter_mut().for_each(|u| u.usage = 0.0);
        self.decayed_to = now;
        for (account, user, amount) in usage {
            if amount > 0.0 {
                self.add_usage(account, user, amount);
            }
        }
    }

    /// Decayed usage of a user association (sshare's RawUsage).
    pub fn user_usage(&self, account: &str, user: &str) -> f64 {
        self.user_id(account, user)
            .map_or(0.0, |id| self.users[id.0].usage)
    }

    fn sibling_shares(&self, parent: usize) -> f64 {
        self.accounts[parent].children_shares.max(1) as f64
    }

    /// (normalised shares, effective usage) of an account.
    fn account_norms(&self, id: usize, total: f64, depth: usize) -> (f64, f64) {
        if id == ROOT_ID || depth > MAX_DEPTH {
            return (1.0, 1.0);
        }
        let acc = &self.accounts[id];
        let (parent_s, parent_ue) = self.account_norms(acc.parent, total, depth + 1);
        let fraction = f64::from(acc.shares) / self.sibling_shares(acc.parent);
        let u = acc.usage / total;
        (parent_s * fraction, u + (parent_ue - u) * fraction)
    }

    /// The fairshare factor in [0, 1] for a user association. One that does not exist counts
    /// as one share and no usage, beside its account's associations.
    pub fn factor(&self, account: &str, user: &str) -> f64 {
        match self.user_id(account, user) {
            Some(id) => self.factor_of(id),
            None => {
                let account = self.account_ids.get(account).copied();
                self.factor_from(account, 1, 0.0)
            }
        }
    }

    /// [`Fairshare::factor`] by index.
    pub fn factor_of(&self, id: UserId) -> f64 {
        match self.users.get(id.0) {
            Some(u) => self.factor_from(Some(u.account), u.shares, u.usage),
            None => self.factor_from(None, 1, 0.0),
        }
    }

    /// The factor of an association with `shares` and `usage` in `account` (`None`: an
    /// account that does not exist, with no norms of its own).
    fn factor_from(&self, account: Option<usize>, shares: u32, usage: f64) -> f64 {
        let total = self.accounts[ROOT_ID].usage;
        if total <= 0.0 {
            return 1.0;
        }
        let ((acc_s, acc_ue), siblings) = match account {
            Some(a) => (self.account_norms(a, total, 0), self.sibling_shares(a)),
            None => ((1.0, 1.0), 1.0),
        };
        let fraction = f64::from(shares) / siblings;
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
        let id = |name: &str| fs.account_ids[name];
        let count = |parent: usize| -> f64 {
            let accounts: u64 = fs
                .accounts
                .iter()
                .enumerate()
                .filter(|(i, a)| a.parent == parent && *i != ROOT_ID)
                .map(|(_, a)| u64::from(a.shares))
                .sum();
            let users: u64 = fs
                .users
                .iter()
                .filter(|u| u.account == parent)
                .map(|u| u64::from(u.shares))
                .sum();
            (accounts + users).max(1) as f64
        };
        for parent in [ROOT, "science", "physics", "chem", "bio"] {
            assert_eq!(fs.sibling_shares(id(parent)), count(id(parent)), "{parent}");
        }
        assert_eq!(fs.sibling_shares(ROOT_ID), 4.0 + 6.0 + 1.0);
        assert_eq!(fs.sibling_shares(id("physics")), 3.0);
        assert_eq!(fs.account_ids.get("none"), None);
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
