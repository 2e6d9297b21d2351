//! The dbd's gRPC service. Every request's credential is verified with the cluster key
//! (the same [`Verifier`] as the controller's: signature, lifetime, replay); recording jobs
//! needs root, SlurmUser or the dbd's own uid (the controller signs as its user), queries
//! need any valid credential; sacctmgr's changes need an operator like recording jobs, its
//! listings any valid credential (users' come from their signer), and `PrivateData=jobs` limits
//! a user's queries to their own jobs.

use super::store::Store;
use crate::auth::Verifier;
use crate::auth::server::{authenticate, require_operator};
use crate::proto::slurm_dbd::slurm_dbd_server::SlurmDbd;
use crate::proto::{
    AcctJobList, AcctJobQuery, Ack, Authed, CapacityRecord, JobSizes, JobSizesQuery, MgrList,
    MgrQuery, MgrReply, MgrRequest, RecordJobsReply, RecordJobsRequest, SharesQuery, SharesReply,
    UsageQuery, UsageReport,
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
        let (_caller, query) = authenticate(self.access.verifier.as_ref(), request, "QueryUsage")?;
        let report = self
            .store
            .usage_report(&query, now())
            .await
            .map_err(unavailable)?;
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
        let (_caller, query) = authenticate(self.access.verifier.as_ref(), request, "QueryShares")?;
        let shares = self
            .store
            .shares(&query, now())
            .await
            .map_err(unavailable)?;
        Ok(Response::new(shares))
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
}
