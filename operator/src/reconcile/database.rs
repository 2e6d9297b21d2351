//! Where the dbd's MySQL server is: given in the spec (backend mysql) or looked up (backend
//! rds, through [`DatabaseResolver`]; the AWS implementation is in `crate::aws`).

use crate::crd::RdsSpec;
use crate::{Error, Result};
use futures::future::BoxFuture;

/// A database server's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// Looks RDS instances up.
pub trait DatabaseResolver: Send + Sync {
    /// The endpoint of the RDS instance `rds` names.
    fn rds_endpoint<'a>(&'a self, rds: &'a RdsSpec) -> BoxFuture<'a, Result<Endpoint>>;
}

/// The default build: no AWS SDK, so backend rds is refused with a message.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRds;

impl DatabaseResolver for NoRds {
    fn rds_endpoint<'a>(&'a self, rds: &'a RdsSpec) -> BoxFuture<'a, Result<Endpoint>> {
        Box::pin(async move {
            Err(Error::Database(format!(
                "spec.accounting.rds: cannot look up RDS instance {}: this operator was built without the aws feature (use backend mysql with the instance's endpoint, or an operator built with --features aws)",
                rds.instance_identifier
            )))
        })
    }
}
