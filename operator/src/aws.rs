//! AWS lookups (feature `aws`): instance types from EC2's DescribeInstanceTypes (the offline
//! table when EC2 cannot be asked or does not know the name), and the endpoint of an RDS
//! instance from DescribeDBInstances. Credentials and region come from the usual chain
//! (environment, IRSA/pod identity, instance profile).

use crate::crd::RdsSpec;
use crate::instance_types::{self, InstanceType, InstanceTypeCatalog};
use crate::reconcile::database::{DatabaseResolver, Endpoint};
use crate::{Error, Result};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_rds::config::Region;
use futures::future::BoxFuture;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// The SDK configuration from the default chain, with an HTTPS client on rustls and ring
/// (the crypto provider the rest of slinky uses; no aws-lc).
pub async fn load_config() -> SdkConfig {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await
}

/// Instance types from EC2, remembered for the process's life; the offline table answers
/// when EC2 fails or does not know a name (`p4dn.24xlarge`, an alias the table resolves).
pub struct Ec2Catalog {
    client: aws_sdk_ec2::Client,
    cache: Mutex<HashMap<String, InstanceType>>,
}

impl Ec2Catalog {
    /// A catalog asking EC2 with `config`.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_ec2::Client::new(config),
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn ask(&self, name: &str) -> Option<InstanceType> {
        let real = instance_types::canonical_name(name);
        let reply = self
            .client
            .describe_instance_types()
            .instance_types(aws_sdk_ec2::types::InstanceType::from(real))
            .send()
            .await;
        let output = match reply {
            Ok(output) => output,
            Err(e) => {
                tracing::warn!(
                    "DescribeInstanceTypes {real}: {}; using slinky's table",
                    aws_sdk_ec2::error::DisplayErrorContext(&e)
                );
                return None;
            }
        };
        let info = output.instance_types().first()?;
        let vcpus = info.v_cpu_info()?.default_v_cpus()?;
        let memory_mib = info.memory_info()?.size_in_mib()?;
        let gpus = info.gpu_info().map(|g| g.gpus()).unwrap_or_default();
        let gpu_count: i32 = gpus.iter().filter_map(|g| g.count()).sum();
        let first_gpu = gpus.first();
        let gpu_type = first_gpu
            .and_then(|g| g.name())
            .map(|n| n.to_ascii_lowercase());
        let gpu_model = first_gpu.map(|g| {
            let memory = g
                .memory_info()
                .and_then(|m| m.size_in_mib())
                .map(|mib| format!(" {}GB", mib / 1024))
                .unwrap_or_default();
            format!(
                "{} {}{memory}",
                g.manufacturer().unwrap_or("NVIDIA"),
                g.name().unwrap_or("GPU")
            )
        });
        let efa = info
            .network_info()
            .and_then(|n| n.efa_info())
            .and_then(|e| e.maximum_efa_interfaces())
            .unwrap_or(0);
        Some(InstanceType {
            name: name.to_owned(),
            vcpus: u32::try_from(vcpus).ok()?,
            memory_mib: u64::try_from(memory_mib).ok()?,
            gpus: u32::try_from(gpu_count).unwrap_or(0),
            gpu_type,
            gpu_model,
            efa_interfaces: u32::try_from(efa).unwrap_or(0),
        })
    }
}

impl InstanceTypeCatalog for Ec2Catalog {
    fn describe<'a>(
        &'a self,
        names: &'a [String],
    ) -> BoxFuture<'a, BTreeMap<String, InstanceType>> {
        Box::pin(async move {
            let mut out = BTreeMap::new();
            for name in names {
                let cached = self
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(name)
                    .cloned();
                let found = match cached {
                    Some(t) => Some(t),
                    None => match self.ask(name).await {
                        Some(t) => {
                            self.cache
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(name.clone(), t.clone());
                            Some(t)
                        }
                        None => instance_types::lookup(name),
                    },
                };
                if let Some(t) = found {
                    out.insert(name.clone(), t);
                }
            }
            out
        })
    }
}

/// RDS endpoints from DescribeDBInstances, in the spec's region or the default one.
pub struct RdsResolver {
    config: SdkConfig,
}

impl RdsResolver {
    /// A resolver using `config` (its region unless the spec names one).
    pub fn new(config: SdkConfig) -> Self {
        Self { config }
    }

    fn client(&self, region: Option<&str>) -> aws_sdk_rds::Client {
        let mut builder = aws_sdk_rds::config::Builder::from(&self.config);
        if let Some(region) = region {
            builder = builder.region(Region::new(region.to_owned()));
        }
        aws_sdk_rds::Client::from_conf(builder.build())
    }
}

impl DatabaseResolver for RdsResolver {
    fn rds_endpoint<'a>(&'a self, rds: &'a RdsSpec) -> BoxFuture<'a, Result<Endpoint>> {
        Box::pin(async move {
            let id = &rds.instance_identifier;
            let output = self
                .client(rds.region.as_deref())
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .map_err(|e| {
                    Error::Database(format!(
                        "spec.accounting.rds: DescribeDBInstances {id}: {}",
                        aws_sdk_rds::error::DisplayErrorContext(&e)
                    ))
                })?;
            let instance = output.db_instances().first().ok_or_else(|| {
                Error::Database(format!("spec.accounting.rds: no RDS instance {id}"))
            })?;
            let endpoint = instance.endpoint().ok_or_else(|| {
                Error::Database(format!(
                    "spec.accounting.rds: RDS instance {id} has no endpoint yet (status {})",
                    instance.db_instance_status().unwrap_or("unknown")
                ))
            })?;
            let host = endpoint.address().ok_or_else(|| {
                Error::Database(format!(
                    "spec.accounting.rds: RDS instance {id} has no address"
                ))
            })?;
            Ok(Endpoint {
                host: host.to_owned(),
                port: endpoint
                    .port()
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(3306),
            })
        })
    }
}
