//! `slinky crds` (the CustomResourceDefinitions as YAML) and `slinky operator` (the
//! Kubernetes operator reconciling SlurmCluster and Partition resources).

use anyhow::Context;
use slinky_operator::reconcile::{Options, run_default};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CrdsArgs {}

#[derive(clap::Args, Debug)]
pub struct OperatorArgs {
    /// Watch only this namespace (default: every namespace).
    #[arg(short = 'n', long, value_name = "NS", env = "SLINKY_NAMESPACE")]
    pub namespace: Option<String>,
}

/// Prints both CRDs as one multi-document YAML stream (what crds/slinky.io_crds.yaml holds).
pub fn crds(_args: CrdsArgs) -> anyhow::Result<ExitCode> {
    print!("{}", slinky_operator::crd::crds_yaml()?);
    Ok(ExitCode::SUCCESS)
}

/// Runs the operator with the in-cluster configuration, else the kubeconfig.
pub fn run(args: OperatorArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime
        .block_on(run_default(Options {
            namespace: args.namespace,
        }))
        .context("running the operator")?;
    Ok(ExitCode::SUCCESS)
}
