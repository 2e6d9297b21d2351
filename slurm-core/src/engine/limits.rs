//! Association limits, as Slurm enforces them with
//! `AccountingStorageEnforce=associations,limits`: which (user, account, partition)
//! combinations may submit at all, and the limits that keep a job pending (with Slurm's
//! reason) or refuse it at submit. Limits apply to the user's association and to every
//! account above it, up to root.
//!
//! The table comes from accounting (the dbd) and is replaced whole when it changes; usage
//! (running jobs, their TRES, TRES-minutes still to run) is recomputed from the engine's
//! jobs at the start of each pass and updated as the pass starts jobs.

use crate::model::{Gres, Job, JobSpec, PendingReason, TimeLimit, Timestamp, TresKind, TresList};
use std::collections::HashMap;

/// Limits of one association (a user's in an account, or an account's own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssocLimitSet {
    pub grp_tres: TresList,
    pub grp_tres_run_mins: TresList,
    pub grp_jobs: Option<u32>,
    pub grp_submit_jobs: Option<u32>,
    pub max_jobs: Option<u32>,
    pub max_submit_jobs: Option<u32>,
    pub max_wall: Option<TimeLimit>,
    pub max_tres_per_job: TresList,
}

/// An account's own association.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountAssoc {
    /// Empty for accounts directly under root.
    pub parent: String,
    pub shares: u32,
    pub limits: AssocLimitSet,
}

/// A user's association with an account (optionally for one partition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAssoc {
    pub user: String,
    pub account: String,
    /// Empty: any partition.
    pub partition: String,
    pub shares: u32,
    pub limits: AssocLimitSet,
    /// The QOS its jobs may use (empty: any).
    pub qos: Vec<String>,
    /// The QOS of its jobs that name none (empty: `normal`).
    pub default_qos: String,
}

/// A QOS's limits (`sacctmgr add qos`). Per-user limits count each user's jobs in the QOS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QosLimitSet {
    pub max_tres_per_job: TresList,
    pub max_tres_per_user: TresList,
    pub max_jobs_per_user: Option<u32>,
    pub max_submit_jobs_per_user: Option<u32>,
    pub grp_tres: TresList,
    pub grp_jobs: Option<u32>,
}

/// The associations accounting holds for this cluster, indexed for lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Associations {
    accounts: Vec<(String, AccountAssoc)>,
    account_ids: HashMap<String, usize>,
    users: Vec<UserAssoc>,
    /// Each user's associations (indices into `users`).
    user_ids: HashMap<String, Vec<usize>>,
    /// Each user's default account (used when a job names none).
    default_accounts: HashMap<String, String>,
    /// `AccountingStorageEnforce` has `limits` (else only the associations' existence is
    /// checked).
    enforce_limits: bool,
    /// QOS limits by name, when `AccountingStorageEnforce` has `qos`.
    qos: HashMap<String, QosLimitSet>,
}

/// Why a submission is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitRefusal {
    /// No association for the user, account and partition.
    InvalidAccount,
    /// MaxSubmitJobs or GrpSubmitJobs reached.
    SubmitLimit,
}

/// One association in the chain a job is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AssocId {
    User(usize),
    Account(usize),
}

impl Associations {
    pub fn new(
        accounts: Vec<(String, AccountAssoc)>,
        users: Vec<UserAssoc>,
        default_accounts: HashMap<String, String>,
        enforce_limits: bool,
    ) -> Self {
        let account_ids = accounts
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let mut user_ids: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, u) in users.iter().enumerate() {
            user_ids.entry(u.user.clone()).or_default().push(i);
        }
        Self {
            accounts,
            account_ids,
            users,
            user_ids,
            default_accounts,
            enforce_limits,
            qos: HashMap::new(),
        }
    }

    /// Enforces these QOS: a job's QOS must be one its association allows, and the QOS's
    /// limits keep jobs pending.
    pub fn with_qos(mut self, qos: HashMap<String, QosLimitSet>) -> Self {
        self.qos = qos;
        self
    }

    /// The QOS a job runs under: the one it names, else its association's default, else
    /// `normal`. `None` when QOS are enforced and the association does not allow it.
    pub fn resolve_qos(
        &self,
        user: &str,
        account: &str,
        partitions: &[String],
        qos: &str,
    ) -> Option<String> {
        let assoc = partitions
            .iter()
            .find_map(|p| self.user_assoc(user, account, p))
            .map(|i| &self.users[i]);
        let chosen = if !qos.is_empty() {
            qos.to_owned()
        } else {
            assoc
                .map(|a| a.default_qos.clone())
                .filter(|q| !q.is_empty())
                .unwrap_or_else(|| "normal".to_owned())
        };
        if self.qos.is_empty() {
            return Some(chosen);
        }
        let allowed = assoc.is_none_or(|a| a.qos.is_empty() || a.qos.contains(&chosen));
        (allowed && self.qos.contains_key(&chosen)).then_some(chosen)
    }

    /// Accounts with their parents and shares (for fairshare's tree).
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &AccountAssoc)> {
        self.accounts.iter().map(|(n, a)| (n.as_str(), a))
    }

    /// User associations (for fairshare's tree).
    pub fn users(&self) -> &[UserAssoc] {
        &self.users
    }

    /// The user association a job in `partition` runs under: the partition-specific one if
    /// it exists, else the general one.
    fn user_assoc(&self, user: &str, account: &str, partition: &str) -> Option<usize> {
        let mine = self.user_ids.get(user)?;
        let matching = |p: &str| {
            mine.iter().copied().find(|&i| {
                let u = &self.users[i];
                u.account == account && u.partition == p
            })
        };
        matching(partition).or_else(|| matching(""))
    }

    fn account(&self, name: &str) -> Option<(usize, &AccountAssoc)> {
        let i = *self.account_ids.get(name)?;
        Some((i, &self.accounts[i].1))
    }

    /// The account a job with `account` (possibly empty) runs under: the named one, else
    /// the user's default account, else the account of the user's only association.
    pub fn resolve_account<'a>(&'a self, user: &str, account: &'a str) -> Option<&'a str> {
        if !account.is_empty() {
            return Some(account);
        }
        if let Some(default) = self.default_accounts.get(user) {
            return Some(default);
        }
        let mine = self.user_ids.get(user)?;
        let first = &self.users[*mine.first()?].account;
        mine.iter()
            .all(|&i| self.users[i].account == *first)
            .then_some(first.as_str())
    }

    /// Checks a submission for the user, account and partitions: the association must
    /// exist (for at least one of the partitions), and its submit limits must allow
    /// `new_jobs` more. `active` counts jobs per (user, account) and per account subtree.
    pub fn check_submit(
        &self,
        user: &str,
        account: &str,
        qos: &str,
        partitions: &[String],
        new_jobs: u32,
        active: &ActiveJobs,
    ) -> Result<(), SubmitRefusal> {
        let Some(ui) = partitions
            .iter()
            .find_map(|p| self.user_assoc(user, account, p))
        else {
            return Err(SubmitRefusal::InvalidAccount);
        };
        if !self.enforce_limits {
            return Ok(());
        }
        let mine = active.user(user, account);
        let ancestry = self.ancestry(account);
        // MaxSubmitJobs: the user association's own, else the nearest account's.
        let max_submit = self.users[ui]
            .limits
            .max_submit_jobs
            .or_else(|| ancestry.iter().find_map(|(_, a)| a.limits.max_submit_jobs));
        if max_submit.is_some_and(|max| mine + new_jobs > max) {
            return Err(SubmitRefusal::SubmitLimit);
        }
        if let Some(q) = self.qos.get(qos)
            && let Some(max) = q.max_submit_jobs_per_user
            && active.user_qos(user, qos) + new_jobs > max
        {
            return Err(SubmitRefusal::SubmitLimit);
        }
        for (name, acct) in ancestry {
            let Some(max) = acct.limits.grp_submit_jobs else {
                continue;
            };
            if self.subtree_active(name, active) + new_jobs > max {
                return Err(SubmitRefusal::SubmitLimit);
            }
        }
        Ok(())
    }

    /// Active jobs of `account` and the accounts below it: one look at each account with
    /// active jobs (accounts are few; jobs are many).
    fn subtree_active(&self, account: &str, active: &ActiveJobs) -> u32 {
        active
            .per_account
            .iter()
            // An account's ancestry starts with the account itself.
            .filter(|(name, _)| self.ancestry(name).iter().any(|(a, _)| *a == account))
            .map(|(_, n)| n)
            .sum()
    }

    /// `account` and the accounts above it, nearest first (a cycle is cut off).
    fn ancestry<'a>(&'a self, account: &'a str) -> Vec<(&'a str, &'a AccountAssoc)> {
        let mut out: Vec<(&str, &AccountAssoc)> = Vec::new();
        let mut current = account;
        while let Some((i, acct)) = self.account(current) {
            if out.iter().any(|(n, _)| *n == current) {
                break;
            }
            out.push((self.accounts[i].0.as_str(), acct));
            if acct.parent.is_empty() {
                break;
            }
            current = &acct.parent;
        }
        out
    }

    /// The associations a job running in `partition` is charged to: its user association,
    /// then its account and the accounts above it.
    fn chain(&self, job: &Job, partition: &str) -> Vec<AssocId> {
        let mut chain = Vec::new();
        if let Some(ui) = self.user_assoc(&job.spec.user, &job.spec.account, partition) {
            chain.push(AssocId::User(ui));
        }
        for (name, _) in self.ancestry(&job.spec.account) {
            chain.push(AssocId::Account(self.account_ids[name]));
        }
        chain
    }

    fn limits(&self, id: AssocId) -> &AssocLimitSet {
        match id {
            AssocId::User(i) => &self.users[i].limits,
            AssocId::Account(i) => &self.accounts[i].1.limits,
        }
    }
}

/// Active (pending or running) jobs, counted as jobs change, for the submit limits: per
/// (user, account), per (user, QOS) and per account (the account's own jobs; the limits of
/// an account subtree add up its accounts). A pending array counts each of its tasks. The
/// counts do not depend on the association tables, so reloading them changes nothing here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ActiveJobs {
    per_user: HashMap<(String, String), u32>,
    per_user_qos: HashMap<(String, String), u32>,
    per_account: HashMap<String, u32>,
}

impl ActiveJobs {
    /// How many jobs `job` counts for: none once finished, each pending array task.
    pub fn weight(job: &Job) -> u32 {
        if job.state.is_finished() {
            return 0;
        }
        job.array_pending
            .as_ref()
            .map_or(1, |a| a.indices.len().max(1) as u32)
    }

    /// Counts `n` more active jobs of the user, account and QOS of `spec`.
    pub fn add(&mut self, spec: &JobSpec, n: u32) {
        if n == 0 {
            return;
        }
        *self
            .per_user
            .entry((spec.user.clone(), spec.account.clone()))
            .or_default() += n;
        *self
            .per_user_qos
            .entry((spec.user.clone(), spec.qos.clone()))
            .or_default() += n;
        *self.per_account.entry(spec.account.clone()).or_default() += n;
    }

    /// Counts `n` fewer active jobs of the user, account and QOS of `spec`.
    pub fn remove(&mut self, spec: &JobSpec, n: u32) {
        fn take<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K, n: u32) {
            if let std::collections::hash_map::Entry::Occupied(mut e) = map.entry(key) {
                *e.get_mut() = e.get().saturating_sub(n);
                if *e.get() == 0 {
                    e.remove();
                }
            }
        }
        if n == 0 {
            return;
        }
        take(
            &mut self.per_user,
            (spec.user.clone(), spec.account.clone()),
            n,
        );
        take(
            &mut self.per_user_qos,
            (spec.user.clone(), spec.qos.clone()),
            n,
        );
        take(&mut self.per_account, spec.account.clone(), n);
    }

    /// Counts every active job of `jobs` afresh (the incremental counts must equal this).
    pub fn count<'a>(jobs: impl Iterator<Item = &'a Job>) -> Self {
        let mut counts = Self::default();
        for job in jobs {
            counts.add(&job.spec, Self::weight(job));
        }
        counts
    }

    fn user(&self, user: &str, account: &str) -> u32 {
        self.per_user
            .get(&(user.to_owned(), account.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    fn user_qos(&self, user: &str, qos: &str) -> u32 {
        self.per_user_qos
            .get(&(user.to_owned(), qos.to_owned()))
            .copied()
            .unwrap_or(0)
    }
}

/// What one association has running.
#[derive(Debug, Clone, Default)]
struct Running {
    jobs: u32,
    tres: TresList,
    /// TRES x minutes left to run.
    tres_mins: TresList,
}

/// Usage per association and per QOS during a pass.
#[derive(Debug, Default)]
pub struct LimitUsage {
    running: HashMap<AssocId, Running>,
    qos: HashMap<String, Running>,
    qos_user: HashMap<(String, String), Running>,
}

/// A job's TRES: CPUs, memory (MiB), nodes, billing (= CPUs) and GRES, untyped totals and
/// typed counts.
pub fn job_tres(cpus: u64, mem_mb: u64, nodes: u64, gres: &[Gres]) -> TresList {
    let mut tres = TresList::default();
    tres.set(TresKind::Cpu, cpus);
    tres.set(TresKind::Mem, mem_mb);
    tres.set(TresKind::Node, nodes);
    tres.set(TresKind::Billing, cpus);
    for g in gres {
        add(
            &mut tres,
            TresKind::Gres {
                name: g.name.clone(),
                kind: None,
            },
            g.count,
        );
        if g.kind.is_some() {
            add(
                &mut tres,
                TresKind::Gres {
                    name: g.name.clone(),
                    kind: g.kind.clone(),
                },
                g.count,
            );
        }
    }
    tres
}

/// The TRES a running job holds (from its allocation).
pub fn allocated_tres(job: &Job) -> TresList {
    let cpus = job.allocation.iter().map(|a| u64::from(a.cpus)).sum();
    let mem = job.allocation.iter().map(|a| a.mem_mb).sum();
    let gres: Vec<Gres> = job
        .allocation
        .iter()
        .flat_map(|a| a.gres.iter().cloned())
        .collect();
    job_tres(cpus, mem, job.allocation.len() as u64, &gres)
}

fn add(tres: &mut TresList, kind: TresKind, value: u64) {
    let current = tres.get(&kind).unwrap_or(0);
    tres.set(kind, current.saturating_add(value));
}

fn minutes(limit: TimeLimit) -> Option<u64> {
    limit.as_secs().map(|s| s.div_ceil(60))
}

impl LimitUsage {
    /// Usage of the running jobs at `now`.
    pub fn from_running<'a>(
        assocs: &Associations,
        running: impl Iterator<Item = &'a Job>,
        now: Timestamp,
    ) -> Self {
        let mut usage = Self::default();
        for job in running {
            let left_mins = match (job.start_time, job.time_limit.as_secs()) {
                (Some(start), Some(limit)) => {
                    ((start + limit as i64 - now).max(0) as u64).div_ceil(60)
                }
                _ => 0,
            };
            usage.add(assocs, job, &allocated_tres(job), left_mins);
        }
        usage
    }

    /// Charges a job (just started, or running) to its association chain.
    pub fn add(&mut self, assocs: &Associations, job: &Job, tres: &TresList, left_mins: u64) {
        let charge = |r: &mut Running| {
            r.jobs += 1;
            for (kind, value) in &tres.0 {
                add(&mut r.tres, kind.clone(), *value);
                add(
                    &mut r.tres_mins,
                    kind.clone(),
                    value.saturating_mul(left_mins),
                );
            }
        };
        for id in assocs.chain(job, &job.partition) {
            charge(self.running.entry(id).or_default());
        }
        if assocs.qos.contains_key(&job.spec.qos) {
            charge(self.qos.entry(job.spec.qos.clone()).or_default());
            charge(
                self.qos_user
                    .entry((job.spec.qos.clone(), job.spec.user.clone()))
                    .or_default(),
            );
        }
    }

    /// The QOS limit that keeps `job` pending, if any.
    fn qos_blocked(
        &self,
        assocs: &Associations,
        job: &Job,
        tres: &TresList,
    ) -> Option<PendingReason> {
        let limits = assocs.qos.get(&job.spec.qos)?;
        let idle = Running::default();
        let group = self.qos.get(&job.spec.qos).unwrap_or(&idle);
        let mine = self
            .qos_user
            .get(&(job.spec.qos.clone(), job.spec.user.clone()))
            .unwrap_or(&idle);
        if let Some(kind) = over(&limits.max_tres_per_job, tres, None) {
            return Some(match kind {
                TresKind::Cpu => PendingReason::QOSMaxCpuPerJobLimit,
                TresKind::Node => PendingReason::QOSMaxNodePerJobLimit,
                TresKind::Mem => PendingReason::QOSMaxMemPerJob,
                _ => PendingReason::QOSMaxGRESPerJob,
            });
        }
        if limits.max_jobs_per_user.is_some_and(|max| mine.jobs >= max) {
            return Some(PendingReason::QOSMaxJobsPerUserLimit);
        }
        if let Some(kind) = over(&limits.max_tres_per_user, tres, Some(&mine.tres)) {
            return Some(match kind {
                TresKind::Cpu => PendingReason::QOSMaxCpuPerUserLimit,
                TresKind::Node => PendingReason::QOSMaxNodePerUserLimit,
                TresKind::Mem => PendingReason::QOSMaxMemPerUser,
                _ => PendingReason::QOSMaxGRESPerUser,
            });
        }
        if limits.grp_jobs.is_some_and(|max| group.jobs >= max) {
            return Some(PendingReason::QOSGrpJobsLimit);
        }
        if let Some(kind) = over(&limits.grp_tres, tres, Some(&group.tres)) {
            return Some(match kind {
                TresKind::Cpu => PendingReason::QOSGrpCpuLimit,
                TresKind::Node => PendingReason::QOSGrpNodeLimit,
                TresKind::Mem => PendingReason::QOSGrpMemLimit,
                _ => PendingReason::QOSGrpGRES,
            });
        }
        None
    }

    /// Why `job` (asking for `tres` in `partition`) may not start now, if a limit stops it.
    /// Limits are checked from the user's association up to root; the first one reached is
    /// the reason.
    pub fn blocked(
        &self,
        assocs: &Associations,
        job: &Job,
        partition: &str,
        tres: &TresList,
    ) -> Option<PendingReason> {
        if let Some(reason) = self.qos_blocked(assocs, job, tres) {
            return Some(reason);
        }
        if !assocs.enforce_limits {
            return None;
        }
        let chain = assocs.chain(job, partition);
        let idle = Running::default();
        let running = |id: &AssocId| self.running.get(id).unwrap_or(&idle);
        // Per-user limits: the user association's own, else inherited from the nearest
        // account that sets them.
        let inherited = |get: fn(&AssocLimitSet) -> Option<u32>| {
            chain.iter().find_map(|id| get(assocs.limits(*id)))
        };
        if let Some(max) = chain.iter().find_map(|id| assocs.limits(*id).max_wall)
            && job.time_limit > max
        {
            return Some(PendingReason::AssocMaxWallDurationPerJobLimit);
        }
        if let Some(per_job) = chain
            .iter()
            .map(|id| &assocs.limits(*id).max_tres_per_job)
            .find(|l| !l.0.is_empty())
            && let Some(kind) = over(per_job, tres, None)
        {
            return Some(per_job_reason(&kind));
        }
        if let Some(user @ AssocId::User(_)) = chain.first()
            && inherited(|l| l.max_jobs).is_some_and(|max| running(user).jobs >= max)
        {
            return Some(PendingReason::AssocMaxJobsLimit);
        }
        let job_mins = minutes(job.time_limit).unwrap_or(u64::MAX);
        for id in &chain {
            let limits = assocs.limits(*id);
            let r = running(id);
            if limits.grp_jobs.is_some_and(|max| r.jobs >= max) {
                return Some(PendingReason::AssocGrpJobsLimit);
            }
            if let Some(kind) = over(&limits.grp_tres, tres, Some(&r.tres)) {
                return Some(grp_reason(&kind));
            }
            if !limits.grp_tres_run_mins.0.is_empty()
                && let Some(kind) = over(
                    &limits.grp_tres_run_mins,
                    &scale(tres, job_mins),
                    Some(&r.tres_mins),
                )
            {
                return Some(run_mins_reason(&kind));
            }
        }
        None
    }
}

fn scale(tres: &TresList, factor: u64) -> TresList {
    TresList(
        tres.0
            .iter()
            .map(|(k, v)| (k.clone(), v.saturating_mul(factor)))
            .collect(),
    )
}

/// The first TRES of `limits` that `wanted` (plus `used`) would exceed.
fn over(limits: &TresList, wanted: &TresList, used: Option<&TresList>) -> Option<TresKind> {
    limits.0.iter().find_map(|(kind, max)| {
        let want = wanted.get(kind).unwrap_or(0);
        let have = used.and_then(|u| u.get(kind)).unwrap_or(0);
        (want > 0 && have.saturating_add(want) > *max).then(|| kind.clone())
    })
}

fn grp_reason(kind: &TresKind) -> PendingReason {
    match kind {
        TresKind::Cpu => PendingReason::AssocGrpCpuLimit,
        TresKind::Mem => PendingReason::AssocGrpMemLimit,
        TresKind::Node => PendingReason::AssocGrpNodeLimit,
        TresKind::Billing => PendingReason::AssocGrpBilling,
        _ => PendingReason::AssocGrpGRES,
    }
}

fn run_mins_reason(kind: &TresKind) -> PendingReason {
    match kind {
        TresKind::Cpu => PendingReason::AssocGrpCPURunMinutesLimit,
        TresKind::Mem => PendingReason::AssocGrpMemRunMinutes,
        TresKind::Node => PendingReason::AssocGrpNodeRunMinutes,
        TresKind::Billing => PendingReason::AssocGrpBillingRunMinutes,
        _ => PendingReason::AssocGrpGRESRunMinutes,
    }
}

fn per_job_reason(kind: &TresKind) -> PendingReason {
    match kind {
        TresKind::Cpu => PendingReason::AssocMaxCpuPerJobLimit,
        TresKind::Mem => PendingReason::AssocMaxMemPerJob,
        TresKind::Node => PendingReason::AssocMaxNodePerJobLimit,
        TresKind::Billing => PendingReason::AssocMaxBillingPerJob,
        _ => PendingReason::AssocMaxGRESPerJob,
    }
}
