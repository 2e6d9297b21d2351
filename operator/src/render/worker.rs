//! Worker pods: one per Slurm node, running `slinky slurmd -N <node>` with the node's name
//! as hostname, pinned to the partition's Kubernetes nodes. Static partitions get theirs
//! from the reconciler; dynamic partitions from the node provider, through the same
//! [`render_worker_pod`].

use super::{PartitionInput, meta, names, pod};
use crate::crd::SlurmCluster;
use crate::shape::{self, NodeShape};
use k8s_openapi::api::core::v1::{
    Lifecycle, LifecycleHandler, Pod, PodSpec, ResourceRequirements, Service, ServiceSpec,
    SleepAction,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Resource;
use std::collections::BTreeMap;

const COMPONENT: &str = "worker";
const SPOOL_VOLUME: &str = "spool";
/// The extended resource of NVIDIA's device plugin.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// The extended resource of AWS's EFA device plugin.
pub const EFA_RESOURCE: &str = "vpc.amazonaws.com/efa";
/// How long the kubelet waits (preStop sleep) before it sends slurmd SIGTERM when its pod
/// is deleted: the operator drains the node, sends jobs their `--signal` and requeues them
/// meanwhile, and the agent, still up, runs their termination sequence and reports.
pub const PRE_STOP_SECONDS: i64 = 60;
/// The worker pod's termination grace period: the preStop wait, then slurmd's own shutdown
/// (`--kill-jobs-on-exit`: what still runs is terminated, KillWait, and reported). Spot
/// interruptions give two minutes.
pub const TERMINATION_GRACE_SECONDS: i64 = 120;

/// The workers' headless Service: each worker pod's `<node>.<cluster>-workers` DNS name.
pub fn headless_service(c: &SlurmCluster) -> Service {
    Service {
        metadata: meta(c, names::workers(c), COMPONENT),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(names::selector(c, COMPONENT)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Keeps voluntary disruptions (node drains, Karpenter consolidation) away from workers
/// whose Slurm node runs jobs: the reconciler labels those pods `slinky.io/busy=true`.
pub fn busy_workers_pdb(c: &SlurmCluster) -> PodDisruptionBudget {
    let mut selector = names::selector(c, COMPONENT);
    selector.insert(names::LABEL_BUSY.into(), "true".into());
    PodDisruptionBudget {
        metadata: meta(c, names::busy_workers_pdb(c), COMPONENT),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(0)),
            selector: Some(LabelSelector {
                match_labels: Some(selector),
                match_expressions: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What a worker pod asks the scheduler for: `spec.workerResources` when given; else CPU
/// and memory of the Slurm node (less a reserve for the kubelet when the size comes from an
/// instance type), and GPUs and EFA devices as requests and limits.
pub fn worker_resources(input: &PartitionInput<'_>) -> ResourceRequirements {
    let spec = &input.partition.spec;
    if let Some(given) = &spec.worker_resources {
        return given.clone();
    }
    let shape: &NodeShape = &input.valid.shape;
    let cpu_millis = if shape.explicit {
        u64::from(shape.cpus) * 1000
    } else {
        (u64::from(shape.cpus) * 1000).saturating_sub(shape::cpu_reserve_millis(shape.cpus))
    };
    let mut requests = BTreeMap::from([
        ("cpu".to_owned(), Quantity(format!("{cpu_millis}m"))),
        (
            "memory".to_owned(),
            Quantity(format!("{}Mi", shape.real_memory_mib)),
        ),
    ]);
    let mut limits = BTreeMap::new();
    let gpus = shape::gpu_count(&input.valid.gres);
    if gpus > 0 {
        limits.insert(GPU_RESOURCE.to_owned(), Quantity(gpus.to_string()));
    }
    if spec.efa_enabled {
        let efa = shape.efa_interfaces.max(1);
        limits.insert(EFA_RESOURCE.to_owned(), Quantity(efa.to_string()));
    }
    requests.extend(limits.clone());
    ResourceRequirements {
        requests: Some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        claims: None,
    }
}

/// The pod of Slurm node `node` of a partition: owned by the Partition (its finalizer
/// drains the nodes before the pods go), hostname `node`, in the workers' subdomain.
pub fn render_worker_pod(c: &SlurmCluster, input: &PartitionInput<'_>, node: &str) -> Pod {
    let p = input.partition;
    let spec = &p.spec;
    // --kill-jobs-on-exit: a pod's processes die with its container, so no later agent could
    // re-adopt its jobs; end them properly and report them instead.
    let mut container = pod::slinky_container(
        c,
        "slurmd",
        &["slurmd", "-D", "-N", node, "--kill-jobs-on-exit"],
    );
    container.lifecycle = Some(Lifecycle {
        pre_stop: Some(LifecycleHandler {
            sleep: Some(SleepAction {
                seconds: PRE_STOP_SECONDS,
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    container.ports = Some(vec![pod::port("slurmd", names::SLURMD_PORT)]);
    container.resources = Some(worker_resources(input));
    container
        .volume_mounts
        .get_or_insert_with(Vec::new)
        .push(pod::mount(SPOOL_VOLUME, names::SLURMD_SPOOL, false));
    let mut volumes = pod::base_volumes(c);
    volumes.push(pod::empty_dir(SPOOL_VOLUME));

    // The partition's own labels first, so the operator's (selectors) win.
    let mut labels = spec.labels.clone();
    labels.extend(names::labels(c, COMPONENT));
    labels.insert(names::LABEL_PARTITION.into(), p.slurm_name());
    labels.insert(names::LABEL_NODE.into(), node.to_owned());

    let pod_spec = PodSpec {
        hostname: Some(node.to_owned()),
        subdomain: Some(names::workers(c)),
        service_account_name: Some(names::service_account(c)),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        restart_policy: Some("Always".into()),
        // The pause container becomes PID 1 and reaps what jobs leave behind (slurmd is not
        // an init).
        share_process_namespace: Some(true),
        termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
        node_selector: (!spec.node_selector.is_empty()).then(|| spec.node_selector.clone()),
        tolerations: (!spec.tolerations.is_empty()).then(|| spec.tolerations.clone()),
        containers: vec![container],
        volumes: Some(volumes),
        ..Default::default()
    };
    let mut metadata = meta(c, names::worker_pod(c, node), COMPONENT);
    metadata.labels = Some(labels);
    metadata.owner_references = Some(vec![partition_owner(p)]);
    metadata.annotations = Some(BTreeMap::from([(
        names::ANNOTATION_SPEC_HASH.to_owned(),
        super::hash_json(&pod_spec),
    )]));
    Pod {
        metadata,
        spec: Some(pod_spec),
        status: None,
    }
}

fn partition_owner(p: &crate::crd::Partition) -> OwnerReference {
    p.controller_owner_ref(&())
        .unwrap_or_else(|| OwnerReference {
            api_version: "slinky.io/v1alpha1".into(),
            kind: "Partition".into(),
            name: p.metadata.name.clone().unwrap_or_default(),
            uid: String::new(),
            controller: Some(true),
            block_owner_deletion: None,
        })
}
