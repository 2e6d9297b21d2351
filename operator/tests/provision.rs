//! The dynamic path in Kubernetes, without Kubernetes: the slurm.conf the operator renders
//! for the example cluster runs in a real controller (in this process, on loopback, with
//! a real cluster key); the operator's provisioner follows its power decisions and creates
//! worker pods in a fake API server (kube-rs's tower-test pattern). A job that needs both
//! GPU nodes of the dynamic partition makes exactly their two pods, carrying the partition's
//! nodeSelector, tolerations and GPU/EFA requests (what Karpenter provisions from).

mod common;

use http::{Request, Response, StatusCode};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use kube::client::Body;
use serde_json::{Value, json};
use slinky_operator::provision::{Provisioners, apply};
use slinky_operator::reconcile::slurm::SlurmTarget;
use slinky_operator::render::{self, ClusterInputs};
use slurm_core::auth::{ClusterKey, CredentialSource};
use slurm_core::config::{AccountingStorage, ControllerHost};
use slurm_core::controller::{ControllerOptions, serve};
use slurm_core::model::{GpuRequest, Gres, JobSpec, TimeLimit};
use slurm_core::proto::{BatchScript, PowerEvent, SubmitRequest};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A pods-only API server: create (409 when it exists), delete (404 when it does not),
/// list by label selector.
#[derive(Default, Clone)]
struct PodStore {
    pods: Arc<Mutex<BTreeMap<String, Value>>>,
}

impl PodStore {
    fn answer(&self, method: &str, path: &str, query: &str, body: Value) -> (StatusCode, Value) {
        let mut pods = self.pods.lock().unwrap();
        let status = |code: u16, reason: &str| {
            json!({"apiVersion": "v1", "kind": "Status", "status": "Failure",
                   "reason": reason, "code": code, "message": reason})
        };
        match method {
            "POST" => {
                let name = body["metadata"]["name"].as_str().unwrap().to_owned();
                if pods.contains_key(&name) {
                    return (StatusCode::CONFLICT, status(409, "AlreadyExists"));
                }
                pods.insert(name, body.clone());
                (StatusCode::CREATED, body)
            }
            "DELETE" => {
                let name = path.rsplit('/').next().unwrap();
                match pods.remove(name) {
                    Some(pod) => (StatusCode::OK, pod),
                    None => (StatusCode::NOT_FOUND, status(404, "NotFound")),
                }
            }
            "GET" => {
                let selector = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("labelSelector="))
                    .map(|s| {
                        s.replace("%3D", "=")
                            .replace("%2C", ",")
                            .replace("%2F", "/")
                    })
                    .unwrap_or_default();
                let wanted: Vec<(&str, &str)> = selector
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .collect();
                let items: Vec<Value> = pods
                    .values()
                    .filter(|p| {
                        wanted
                            .iter()
                            .all(|(k, v)| p["metadata"]["labels"][*k].as_str() == Some(*v))
                    })
                    .cloned()
                    .collect();
                (
                    StatusCode::OK,
                    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}),
                )
            }
            _ => (StatusCode::NOT_FOUND, status(404, "NotFound")),
        }
    }

    fn names(&self) -> Vec<String> {
        self.pods.lock().unwrap().keys().cloned().collect()
    }

    fn client(&self) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let store = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap();
                let (code, reply) = store.answer(
                    parts.method.as_str(),
                    parts.uri.path(),
                    parts.uri.query().unwrap_or_default(),
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                );
                send.send_response(
                    Response::builder()
                        .status(code)
                        .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                        .unwrap(),
                );
            }
        });
        Client::new(service, "slurm")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_on_a_dynamic_partition_creates_exactly_its_worker_pods() {
    let cluster = common::cluster();
    let partitions = common::partitions();
    let inputs = ClusterInputs::new(
        &cluster,
        partitions.iter().map(common::input).collect(),
        None,
    );
    let rendered = render::render_cluster(&inputs);

    // The rendered configuration, on loopback, with a real key and no accounting.
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("slurm.key");
    ClusterKey::generate(&key_path).unwrap();
    let mut config = render::slurm_conf::cluster_config(&inputs);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.controller_hosts = vec![ControllerHost {
        name: "127.0.0.1".into(),
        addr: Some("127.0.0.1".into()),
    }];
    config.controller_port = addr.port();
    config.auth_type = "auth/slurm".into();
    config.auth_info = Some(format!("key={}", key_path.display()));
    config.accounting.storage = AccountingStorage::None;
    config.accounting.enforce.clear();
    let options = ControllerOptions {
        cluster: config.clone(),
        state_dir: dir.path().join("state"),
        listen: addr,
    };
    tokio::spawn(serve(options, listener, std::future::pending()));

    let store = PodStore::default();
    let provisioners = Provisioners::default();
    let pods: Api<Pod> = Api::namespaced(store.client(), "slurm");
    provisioners
        .ensure(
            "slurm/slinky-cluster",
            pods,
            "slinky-cluster",
            &SlurmTarget {
                host: "127.0.0.1".into(),
                port: addr.port(),
                key: std::fs::read(&key_path).unwrap(),
            },
            rendered.dynamic_workers.clone(),
        )
        .unwrap();

    // A 2-node, 16-GPU job in the dynamic GPU partition, as root.
    let credentials = CredentialSource::KeyAs {
        key: Arc::new(ClusterKey::load(&key_path).unwrap()),
        uid: 0,
        gid: 0,
        ttl_s: 300,
    };
    let mut client = slurm_core::client::connect_commands(&config).await.unwrap();
    let spec = JobSpec {
        name: "train".into(),
        user: "root".into(),
        partitions: vec!["gpu-partition".into()],
        min_nodes: 2,
        ntasks: 2,
        gpus: GpuRequest {
            per_node: Some(Gres::new("gpu", None, 8)),
            ..Default::default()
        },
        time_limit: Some(TimeLimit::minutes(60)),
        ..JobSpec::default()
    };
    let request = credentials
        .authed(SubmitRequest {
            spec,
            batch: BatchScript {
                script: "#!/bin/sh\ntrue\n".into(),
                ..BatchScript::default()
            },
        })
        .await
        .unwrap();
    client.submit(request).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while store.names().len() < 2 {
        assert!(Instant::now() < deadline, "pods: {:?}", store.names());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Exactly the allocation's nodes, nothing from the CPU partition.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.names(),
        vec![
            "slinky-cluster-gpu-partition-0".to_owned(),
            "slinky-cluster-gpu-partition-1".to_owned()
        ]
    );
    let pod = store.pods.lock().unwrap()["slinky-cluster-gpu-partition-0"].clone();
    assert_eq!(
        pod["spec"]["nodeSelector"]["karpenter.sh/nodepool"],
        "slurm-gpu-pool"
    );
    assert_eq!(pod["spec"]["tolerations"][0]["key"], "slinky.io/usage");
    let limits = &pod["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!(limits["nvidia.com/gpu"], "8");
    assert!(limits["vpc.amazonaws.com/efa"].is_string(), "{limits}");
    assert_eq!(
        pod["metadata"]["labels"]["slinky.io/node"],
        "gpu-partition-0"
    );
}

#[tokio::test]
async fn suspend_deletes_the_pod_and_a_snapshot_reconciles_what_exists() {
    let cluster = common::cluster();
    let partitions = common::partitions();
    let inputs = ClusterInputs::new(
        &cluster,
        partitions.iter().map(common::input).collect(),
        None,
    );
    let rendered = render::render_cluster(&inputs);
    let store = PodStore::default();
    let templates = Arc::new(std::sync::RwLock::new(rendered.dynamic_workers.clone()));
    let provider = slinky_operator::provision::KubePodProvider::new(
        Api::namespaced(store.client(), "slurm"),
        "slinky-cluster",
        templates,
    );
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    apply(
        &provider,
        PowerEvent::Resume {
            nodes: names(&["gpu-partition-0", "gpu-partition-1"]),
        },
    )
    .await
    .unwrap();
    // Resuming again is harmless (the API server answers 409).
    apply(
        &provider,
        PowerEvent::Resume {
            nodes: names(&["gpu-partition-0"]),
        },
    )
    .await
    .unwrap();
    apply(
        &provider,
        PowerEvent::Suspend {
            nodes: names(&["gpu-partition-1"]),
        },
    )
    .await
    .unwrap();
    assert_eq!(store.names(), names(&["slinky-cluster-gpu-partition-0"]));
    // After an operator restart the controller says gpu-partition-1 should be up and
    // gpu-partition-0 down.
    apply(
        &provider,
        PowerEvent::Snapshot {
            up: names(&["gpu-partition-1"]),
            down: names(&["gpu-partition-0"]),
        },
    )
    .await
    .unwrap();
    assert_eq!(store.names(), names(&["slinky-cluster-gpu-partition-1"]));
}
