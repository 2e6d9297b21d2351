//! The dbd's gRPC service. Every request's credential is verified with the cluster key
//! (the same [`Verifier`] as the controller's: signature, lifetime, replay); recording jobs
//! needs root, SlurmUser or the dbd's own uid (the controller signs as its user), queries
//! need any valid credential; sacctmgr's changes need an operator like recording jobs, its
//! listings any valid credential (users' come from their signer), `PrivateData=jobs` limits
//! a user's queries to their own jobs and `PrivateData=usage` their usage reports (sreport,
//! sshare) to their own usage.

use super::store::Store;
use crate::auth::Verifier;
use crate::auth::server::{authenticate, require_operator};
use crate::proto::slurm_dbd::slurm_dbd_server::SlurmDbd;
use crate::proto::{
    AcctJobList, AcctJobQuery, Ack, Authed, CapacityRecord, EventList, EventQuery, JobSizes,
    JobSizesQuery, MgrList, MgrQuery, MgrReply, MgrRequest, RecordJobsReply, RecordJobsRequest,
    SharesQuery, SharesReply, UsageQuery, UsageReport,
};
use tonic::{Request, Response, Status};

/// Who may do what at the dbd.
#[derive(Debug, Default)]
pub struct Access {
    /// Checks credentials; `None` under `AuthType=auth/none`.
    pub verifier: Option<Verifier>,
    /// root, SlurmUser and the dbd's own uid.
    pub operators: Vec<u32>,
    /// `PrivateData=jobs`.
    pub private_jobs: bool,
    /// `PrivateData=usage`.
    pub private_usage: bool,
}

impl Access {
    /// Does `PrivateData=usage` hide other users' usage from this caller?
    fn hides_usage_from(&self, uid: u32) -> bool {
        self.private_usage && !self.operators.contains(&uid)
    }
}

pub struct Dbd {
    store: Store,
    access: Access,
    /// Batches are applied one at a time: a retried batch that overlaps one still being
    /// applied then finds its records already stored.
    writer: tokio::sync::Mutex<()>,
}

impl Dbd {
    pub fn new(store: Store, access: Access) -> Self {
        Self {
            store,
            access,
            writer: tokio::sync::Mutex::new(()),
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn now() -> i64 {
    crate::commands::now()
}

fn unavailable(e: super::store::StoreError) -> Status {
    tracing::error!("{e}");
    Status::unavailable(format!("Unable to talk to the database: {e}"))
}

/// `PrivateData=usage`: keeps only `user`'s own usage in a report.
fn only_own_usage(report: &mut UsageReport, user: &str) {
    report.rows.retain(|r| r.user == user);
    report.private = true;
}

/// `PrivateData=usage`: keeps only `user`'s own associations in sshare's list, with
/// sshare's figures computed over the whole tree (as slurmctld computes them for Slurm's
/// sshare).
fn only_own_shares(reply: &mut SharesReply, user: &str, half_life_s: u64) {
    let lines = crate::commands::sshare::compute(reply, half_life_s);
    let assocs = std::mem::take(&mut reply.assocs);
    reply.assocs = assocs
        .into_iter()
        .zip(lines)
        .filter(|(a, _)| a.user == user)
        .map(|(mut a, l)| {
            let depth = l.account.len() - l.account.trim_start().len();
            a.computed = Some(crate::proto::ComputedShares {
                depth: u32::try_from(depth).unwrap_or(0),
                norm_shares: l.norm_shares,
                norm_usage: l.norm_usage,
                effective_usage: l.effective_usage,
                fairshare: l.fairshare,
            });
            a
        })
        .collect();
}

/// Limits a query to `uid`'s jobs.
fn only_own(query: &mut AcctJobQuery, uid: u32) {
    query.uids = Some(match query.uids.take() {
        Some(uids) => uids.into_iter().filter(|u| *u == uid).collect(),
        None => vec![uid],
    });
}

#[tonic::async_trait]
impl SlurmDbd for Dbd {
    async fn record_jobs(
        &self,
        request: Request<Authed<RecordJobsRequest>>,
    ) -> Reply<RecordJobsReply> {
        let (caller, body) = authenticate(self.access.verifier.as_ref(), request, "RecordJobs")?;
        if self.access.verifier.is_some() {
            require_operator(&caller, &self.access.operators, "RecordJobs")?;
        }
        let _writing = self.writer.lock().await;
        let acked_seq = self
            .store
            .record_jobs(&body, now())
            .await
            .map_err(unavailable)?;
        tracing::debug!(
            "cluster {}: {} records received from {}, stored through {acked_seq}",
            body.cluster,
            body.records.len(),
            caller.peer
        );
        Ok(Response::new(RecordJobsReply { acked_seq }))
    }

    async fn query_jobs(&self, request: Request<Authed<AcctJobQuery>>) -> Reply<AcctJobList> {
        let (caller, mut query) =
            authenticate(self.access.verifier.as_ref(), request, "QueryJobs")?;
        if self.access.private_jobs && !self.access.operators.contains(&caller.cred.uid) {
            only_own(&mut query, caller.cred.uid);
        }
        let jobs = self.store.query_jobs(&query).await.map_err(unavailable)?;
        Ok(Response::new(AcctJobList { now: now(), jobs }))
    }

    async fn modify_accounting(&self, request: Request<Authed<MgrRequest>>) -> Reply<MgrReply> {
        let (caller, body) =
            authenticate(self.access.verifier.as_ref(), request, "ModifyAccounting")?;
        if self.access.verifier.is_some() {
            require_operator(&caller, &self.access.operators, "ModifyAccounting")?;
        }
        let _writing = self.writer.lock().await;
        let reply = self.store.manage(&body, now()).await.map_err(unavailable)?;
        if body.commit && reply.error.is_none() {
            tracing::info!(
                "{:?} by uid {} from {}",
                body.op,
                caller.cred.uid,
                caller.peer
            );
        }
        Ok(Response::new(reply))
    }

    async fn show_accounting(&self, request: Request<Authed<MgrQuery>>) -> Reply<MgrList> {
        let (_caller, query) =
            authenticate(self.access.verifier.as_ref(), request, "ShowAccounting")?;
        let list = self.store.show(&query).await.map_err(unavailable)?;
        Ok(Response::new(list))
    }

    async fn query_usage(&self, request: Request<Authed<UsageQuery>>) -> Reply<UsageReport> {
        let (caller, query) = authenticate(self.access.verifier.as_ref(), request, "QueryUsage")?;
        let mut report = self
            .store
            .usage_report(&query, now())
            .await
            .map_err(unavailable)?;
        if self.access.hides_usage_from(caller.cred.uid) {
            only_own_usage(&mut report, &caller.cred.user);
        }
        Ok(Response::new(report))
    }

    async fn query_job_sizes(&self, request: Request<Authed<JobSizesQuery>>) -> Reply<JobSizes> {
        let (_caller, query) =
            authenticate(self.access.verifier.as_ref(), request, "QueryJobSizes")?;
        let sizes = self
            .store
            .job_sizes(&query, now())
            .await
            .map_err(unavailable)?;
        Ok(Response::new(sizes))
    }

    async fn query_shares(&self, request: Request<Authed<SharesQuery>>) -> Reply<SharesReply> {
        let (caller, query) = authenticate(self.access.verifier.as_ref(), request, "QueryShares")?;
        let mut shares = self
            .store
            .shares(&query, now())
            .await
            .map_err(unavailable)?;
        if self.access.hides_usage_from(caller.cred.uid) {
            only_own_shares(&mut shares, &caller.cred.user, query.half_life_s);
        }
        Ok(Response::new(shares))
    }

    async fn query_events(&self, request: Request<Authed<EventQuery>>) -> Reply<EventList> {
        let (_caller, query) = authenticate(self.access.verifier.as_ref(), request, "QueryEvents")?;
        let events = self.store.query_events(&query).await.map_err(unavailable)?;
        Ok(Response::new(EventList { now: now(), events }))
    }

    async fn record_capacity(&self, request: Request<Authed<CapacityRecord>>) -> Reply<Ack> {
        let (caller, body) =
            authenticate(self.access.verifier.as_ref(), request, "RecordCapacity")?;
        if self.access.verifier.is_some() {
            require_operator(&caller, &self.access.operators, "RecordCapacity")?;
        }
        let _writing = self.writer.lock().await;
        self.store
            .record_capacity(&body, now())
            .await
            .map_err(unavailable)?;
        Ok(Response::new(Ack {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_queries_see_only_their_own_jobs() {
        let mut q = AcctJobQuery::default();
        only_own(&mut q, 7);
        assert_eq!(q.uids, Some(vec![7]));
        let mut q = AcctJobQuery {
            uids: Some(vec![1, 7, 9]),
            ..AcctJobQuery::default()
        };
        only_own(&mut q, 7);
        assert_eq!(q.uids, Some(vec![7]));
        let mut q = AcctJobQuery {
            uids: Some(vec![1]),
            ..AcctJobQuery::default()
        };
        only_own(&mut q, 7);
        assert_eq!(q.uids, Some(vec![]));
    }

    #[test]
    fn private_usage_keeps_the_callers_own() {
        let row = |user: &str| crate::proto::UsageRow {
            cluster: "c".into(),
            account: "physics".into(),
            user: user.into(),
            partition: "debug".into(),
            tres: "cpu".into(),
            seconds: 60,
        };
        let mut r = UsageReport {
            rows: vec![row("alice"), row("bob")],
            ..UsageReport::default()
        };
        only_own_usage(&mut r, "bob");
        assert_eq!(r.rows, [row("bob")]);
        assert!(r.private);
        let share =
            |account: &str, user: &str, parent: &str, usage: f64| crate::proto::AssocShares {
                account: account.into(),
                user: user.into(),
                parent: parent.into(),
                shares: 1,
                usage,
                ..Default::default()
            };
        let mut s = SharesReply {
            assocs: vec![
                share("root", "", "", 0.0),
                share("physics", "", "root", 30.0),
                share("physics", "alice", "", 20.0),
                share("physics", "bob", "", 10.0),
            ],
            ..SharesReply::default()
        };
        let full = crate::commands::sshare::compute(&s, 0);
        only_own_shares(&mut s, "bob", 0);
        assert_eq!(s.assocs.len(), 1);
        assert_eq!(s.assocs[0].user, "bob");
        // sshare prints bob's line as it would from the whole tree.
        assert_eq!(crate::commands::sshare::compute(&s, 0), [full[3].clone()]);
        let access = Access {
            private_usage: true,
            operators: vec![0],
            ..Access::default()
        };
        assert!(access.hides_usage_from(1001));
        assert!(!access.hides_usage_from(0));
    }
}
