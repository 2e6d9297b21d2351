//! The dbd's gRPC service.

use super::store::Store;
use crate::proto::slurm_dbd::slurm_dbd_server::SlurmDbd;
use crate::proto::{AcctJobList, AcctJobQuery, Authed, RecordJobsReply, RecordJobsRequest};
use tonic::{Request, Response, Status};

pub struct Dbd {
    store: Store,
    /// Batches are applied one at a time: a retried batch that overlaps one still being
    /// applied then finds its records already stored.
    writer: tokio::sync::Mutex<()>,
}

impl Dbd {
    pub fn new(store: Store) -> Self {
        Self {
            store,
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

#[tonic::async_trait]
impl SlurmDbd for Dbd {
    async fn record_jobs(
        &self,
        request: Request<Authed<RecordJobsRequest>>,
    ) -> Reply<RecordJobsReply> {
        let body = request.into_inner().body;
        let _writing = self.writer.lock().await;
        let acked_seq = self
            .store
            .record_jobs(&body, now())
            .await
            .map_err(unavailable)?;
        tracing::debug!(
            "cluster {}: {} records received, stored through {acked_seq}",
            body.cluster,
            body.records.len()
        );
        Ok(Response::new(RecordJobsReply { acked_seq }))
    }

    async fn query_jobs(&self, request: Request<Authed<AcctJobQuery>>) -> Reply<AcctJobList> {
        let query = request.into_inner().body;
        let jobs = self.store.query_jobs(&query).await.map_err(unavailable)?;
        Ok(Response::new(AcctJobList { now: now(), jobs }))
    }
}
