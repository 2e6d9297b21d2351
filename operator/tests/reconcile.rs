//! Reconcile scenarios against a mock API server (kube-rs's tower-test pattern): every
//! request the reconciler makes is answered by a fake that records it, and the test checks
//! the exact sequence and the bodies that matter.

mod common;

use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use slinky_operator::crd::Partition;
use slinky_operator::instance_types::OfflineCatalog;
use slinky_operator::reconcile::database::NoRds;
use slinky_operator::reconcile::slurm::{
    JobSignal, NodeInfo, PendingJob, RunningJob, SlurmNodeControl, SlurmSnapshot, SlurmTarget,
};
use slinky_operator::reconcile::{Context, FINALIZER, REFRESH, cluster, partition};
use slinky_operator::render::{self, ClusterInputs};
use slurm_core::model::{NodeBaseState, NodeState};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the fake API server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    body: Value,
}

impl Seen {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A Slurm controller that answers with a fixed snapshot and records what it is asked.
#[derive(Default)]
struct FakeSlurm {
    snapshot: Option<SlurmSnapshot>,
    drained: Mutex<Vec<(Vec<String>, String)>>,
    /// Every other request, one line each: `undrain N`, `signal J SIG batch`, `requeue J`.
    calls: Mutex<Vec<String>>,
}

impl FakeSlurm {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl SlurmNodeControl for FakeSlurm {
    fn snapshot<'a>(
        &'a self,
        _target: &'a SlurmTarget,
    ) -> BoxFuture<'a, slinky_operator::Result<SlurmSnapshot>> {
        Box::pin(async move {
            self.snapshot
                .clone()
                .ok_or_else(|| slinky_operator::Error::Slurm("unreachable".into()))
        })
    }

    fn drain<'a>(
        &'a self,
        _target: &'a SlurmTarget,
        nodes: &'a [String],
        reason: &'a str,
    ) -> BoxFuture<'a, slinky_operator::Result<()>> {
        Box::pin(async move {
            self.drained
                .lock()
                .unwrap()
                .push((nodes.to_vec(), reason.to_owned()));
            Ok(())
        })
    }

    fn undrain<'a>(
        &'a self,
        _target: &'a SlurmTarget,
        nodes: &'a [String],
    ) -> BoxFuture<'a, slinky_operator::Result<()>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push(format!("undrain {}", nodes.join(",")));
            Ok(())
        })
    }

    fn signal_jobs<'a>(
        &'a self,
        _target: &'a SlurmTarget,
        jobs: &'a [u32],
        signal: i32,
        batch_only: bool,
    ) -> BoxFuture<'a, slinky_operator::Result<()>> {
        Box::pin(async move {
            for j in jobs {
                self.calls
                    .lock()
                    .unwrap()
                    .push(format!("signal {j} {signal} {batch_only}"));
            }
            Ok(())
        })
    }

    fn requeue<'a>(
        &'a self,
        _target: &'a SlurmTarget,
        jobs: &'a [u32],
    ) -> BoxFuture<'a, slinky_operator::Result<()>> {
        Box::pin(async move {
            for j in jobs {
                self.calls.lock().unwrap().push(format!("requeue {j}"));
            }
            Ok(())
        })
    }
}

fn node(name: &str, base: NodeBaseState) -> NodeInfo {
    NodeInfo {
        name: name.into(),
        state: NodeState::new(base),
        reason: None,
    }
}

fn powered_down(name: &str) -> NodeInfo {
    let mut state = NodeState::new(NodeBaseState::Idle);
    state.flags.cloud = true;
    state.flags.powered_down = true;
    NodeInfo {
        name: name.into(),
        state,
        reason: None,
    }
}

/// The controller's view of the example cluster: static GPU nodes up (one running a job),
/// every cloud node powered down, two jobs waiting for GPUs.
fn example_snapshot() -> SlurmSnapshot {
    let mut nodes = vec![
        node("static-gpu-partition-0", NodeBaseState::Allocated),
        node("static-gpu-partition-1", NodeBaseState::Idle),
        powered_down("gpu-partition-0"),
        powered_down("gpu-partition-1"),
    ];
    nodes.extend((0..10).map(|i| powered_down(&format!("cpu-partition-{i}"))));
    SlurmSnapshot {
        nodes,
        pending: vec![
            PendingJob {
                partitions: vec!["gpu-partition".into()],
                reason: "Resources".into(),
                planned_start: Some(1_700_000_000),
            },
            PendingJob {
                partitions: vec!["gpu-partition".into()],
                reason: "Priority".into(),
                planned_start: None,
            },
        ],
        running: vec![RunningJob {
            id: 7,
            nodes: vec!["static-gpu-partition-0".into()],
            signal: None,
            requeue: true,
        }],
    }
}

fn with_finalizer<K: kube::Resource>(mut obj: K) -> K {
    obj.meta_mut().finalizers = Some(vec![FINALIZER.into()]);
    obj.meta_mut().generation = Some(1);
    obj
}

fn auth_key_secret() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "slinky-cluster-auth-key", "namespace": "slurm"},
        "data": {"slurm.key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
    })
}

fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {}, "items": items})
}

/// What the fake API server answers: the object a request names (from `objects`), lists,
/// and for writes the body it was sent (with a ready status for workloads).
struct Server {
    partitions: Vec<Value>,
    pods: Vec<Value>,
    nodes: Vec<Value>,
    /// The stored controller StatefulSet: its first apply is refused as the API server
    /// refuses a changed volume claim template.
    statefulset: Option<Mutex<Value>>,
    cluster: Value,
    secret: Option<Value>,
}

impl Server {
    fn answer(&self, seen: &Seen) -> (StatusCode, Value) {
        let p = seen.path.as_str();
        match seen.method.as_str() {
            "GET" if p.ends_with("/secrets/slinky-cluster-auth-key") => match &self.secret {
                Some(s) => (StatusCode::OK, s.clone()),
                None => (StatusCode::NOT_FOUND, not_found()),
            },
            "GET" if p.ends_with("/slurmclusters/slinky-cluster") => {
                (StatusCode::OK, self.cluster.clone())
            }
            "GET" if p.ends_with("/partitions") => (
                StatusCode::OK,
                list(
                    "PartitionList",
                    "slinky.io/v1alpha1",
                    self.partitions.clone(),
                ),
            ),
            "GET" if p.contains("/statefulsets/") => match &self.statefulset {
                Some(sts) => (StatusCode::OK, sts.lock().unwrap().clone()),
                None => (StatusCode::NOT_FOUND, not_found()),
            },
            "PATCH" if p.contains("/statefulsets/") && self.refuse_statefulset(seen) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "Invalid", "code": 422,
                       "message": "StatefulSet.apps \"slinky-cluster-controller\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"}),
            ),
            "GET" if p.starts_with("/api/v1/nodes/") => {
                let name = p.rsplit('/').next().unwrap();
                match self.nodes.iter().find(|n| n["metadata"]["name"] == name) {
                    Some(n) => (StatusCode::OK, n.clone()),
                    None => (StatusCode::NOT_FOUND, not_found()),
                }
            }
            "GET" if p.ends_with("/pods") => {
                (StatusCode::OK, list("PodList", "v1", self.pods.clone()))
            }
            "PATCH" if p.ends_with("/status") => {
                let name = p.trim_end_matches("/status").rsplit('/').next().unwrap();
                let mut obj = std::iter::once(&self.cluster)
                    .chain(&self.partitions)
                    .find(|o| {
                        o["metadata"]["name"] == name
                            && p.contains(&format!(
                                "/{}s/",
                                o["kind"].as_str().unwrap().to_lowercase()
                            ))
                    })
                    .cloned()
                    .unwrap_or_else(|| panic!("status of an unknown object: {p}"));
                obj["status"] = seen.body["status"].clone();
                (StatusCode::OK, obj)
            }
            // A merge patch (busy labels): the pod as stored.
            "PATCH" if p.contains("/pods/") && !seen.query.contains("fieldManager") => {
                let name = p.rsplit('/').next().unwrap();
                let pod = self.pods.iter().find(|o| o["metadata"]["name"] == name);
                (StatusCode::OK, pod.cloned().expect("a pod that exists"))
            }
            "PATCH" | "POST" => {
                let mut body = seen.body.clone();
                if p.contains("/statefulsets/") {
                    body["status"] = json!({"replicas": 1, "readyReplicas": 1});
                }
                if p.contains("/deployments/") {
                    body["status"] = json!({"replicas": 1, "availableReplicas": 1});
                }
                (StatusCode::OK, body)
            }
            "DELETE" => (
                StatusCode::OK,
                json!({"apiVersion": "v1", "kind": "Status", "status": "Success"}),
            ),
            _ => (StatusCode::NOT_FOUND, not_found()),
        }
    }
}

impl Server {
    /// Whether an apply of the controller StatefulSet changes the stored volume claim
    /// templates (which the API server forbids).
    fn refuse_statefulset(&self, seen: &Seen) -> bool {
        self.statefulset.as_ref().is_some_and(|sts| {
            sts.lock().unwrap()["spec"]["volumeClaimTemplates"]
                != seen.body["spec"]["volumeClaimTemplates"]
        })
    }
}

fn not_found() -> Value {
    json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})
}

/// Runs `f` against a fake API server; returns its result and every request seen.
async fn with_server<T>(server: Server, f: impl AsyncFnOnce(Client) -> T) -> (T, Vec<Seen>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let one = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let (status, reply) = server.answer(&one);
            log.lock().unwrap().push(one);
            send.send_response(
                Response::builder()
                    .status(status)
                    .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                    .unwrap(),
            );
        }
    });
    let client = Client::new(service, "default");
    let out = f(client).await;
    task.abort();
    let seen = seen.lock().unwrap().clone();
    (out, seen)
}

fn context(client: Client, slurm: Arc<FakeSlurm>) -> Arc<Context> {
    Arc::new(Context::new(
        client,
        Arc::new(OfflineCatalog),
        Arc::new(NoRds),
        slurm,
    ))
}

fn example_server() -> Server {
    Server {
        partitions: common::partitions()
            .into_iter()
            .map(|p| serde_json::to_value(with_finalizer(p)).unwrap())
            .collect(),
        pods: Vec::new(),
        nodes: Vec::new(),
        statefulset: None,
        cluster: serde_json::to_value(with_finalizer(common::cluster())).unwrap(),
        secret: Some(auth_key_secret()),
    }
}

const NS: &str = "/api/v1/namespaces/slurm";
const APPS: &str = "/apis/apps/v1/namespaces/slurm";

#[tokio::test]
async fn a_new_cluster_is_applied_object_by_object_and_gets_its_status() {
    let cluster = with_finalizer(common::cluster());
    let slurm = Arc::new(FakeSlurm {
        snapshot: Some(example_snapshot()),
        ..Default::default()
    });
    let (action, seen) = with_server(example_server(), async |client| {
        cluster::reconcile(Arc::new(cluster.clone()), context(client, slurm.clone())).await
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(REFRESH));

    let lines: Vec<String> = seen.iter().map(Seen::line).collect();
    let expected = [
        format!("GET {NS}/secrets/slinky-cluster-auth-key"),
        "GET /apis/slinky.io/v1alpha1/namespaces/slurm/partitions".into(),
        format!("PATCH {NS}/serviceaccounts/slinky-cluster-slurm"),
        "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/slurm/roles/slinky-cluster-slurm".into(),
        "PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/slurm/rolebindings/slinky-cluster-slurm".into(),
        format!("PATCH {NS}/configmaps/slinky-cluster-config"),
        format!("PATCH {NS}/services/slinky-cluster-controller-hl"),
        format!("PATCH {NS}/services/slinky-cluster-controller"),
        format!("PATCH {APPS}/statefulsets/slinky-cluster-controller"),
        format!("PATCH {NS}/persistentvolumeclaims/slinky-cluster-dbd-data"),
        format!("PATCH {NS}/services/slinky-cluster-dbd"),
        format!("PATCH {APPS}/deployments/slinky-cluster-dbd"),
        format!("PATCH {NS}/persistentvolumeclaims/slinky-cluster-home"),
        format!("PATCH {APPS}/deployments/slinky-cluster-login"),
        format!("PATCH {NS}/services/slinky-cluster-workers"),
        "PATCH /apis/policy/v1/namespaces/slurm/poddisruptionbudgets/slinky-cluster-busy-workers".into(),
        format!("GET {NS}/pods"),
        format!("PATCH {NS}/pods/slinky-cluster-static-gpu-partition-0"),
        format!("PATCH {NS}/pods/slinky-cluster-static-gpu-partition-1"),
        "POST /apis/events.k8s.io/v1/namespaces/slurm/events".into(),
        "PATCH /apis/slinky.io/v1alpha1/namespaces/slurm/slurmclusters/slinky-cluster/status".into(),
    ];
    assert_eq!(lines, expected);

    // Every write is a server-side apply by the operator's field manager.
    for s in seen.iter().filter(|s| s.method == "PATCH") {
        assert!(
            s.query.contains("fieldManager=slinky-operator") && s.query.contains("force=true"),
            "{} {}",
            s.line(),
            s.query
        );
    }
    assert!(
        seen[17..19]
            .iter()
            .all(|s| s.query.contains("fieldManager=slinky-operator"))
    );

    // The ConfigMap holds exactly what rendering gives.
    let parts = common::partitions();
    let inputs = ClusterInputs::new(&cluster, parts.iter().map(common::input).collect(), None);
    let config_map = serde_json::to_value(render::config_map(&inputs)).unwrap();
    assert_eq!(seen[5].body, config_map);
    let slurm_conf = seen[5].body["data"]["slurm.conf"].as_str().unwrap();
    assert!(slurm_conf.contains("NodeName=gpu-partition-[0-1] "));
    assert!(slurm_conf.contains("State=CLOUD"));

    // The StatefulSet rolls with the config.
    let sts = &seen[8].body;
    assert_eq!(sts["kind"], "StatefulSet");
    assert_eq!(
        sts["spec"]["template"]["metadata"]["annotations"]["slinky.io/config-hash"],
        render::hash_config(&render::config_map(&inputs))
    );
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["slurmctld", "-D"])
    );

    // The status: ready, node counts from the controller.
    let status = &seen.last().unwrap().body;
    assert_eq!(status["apiVersion"], "slinky.io/v1alpha1");
    assert_eq!(status["kind"], "SlurmCluster");
    let status = &status["status"];
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(
        status["nodes"],
        json!({"total": 14, "idle": 1, "allocated": 1, "mixed": 0, "drain": 0, "down": 0, "poweredDown": 12})
    );
    let conditions: Vec<(&str, &str)> = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        conditions,
        [
            ("Ready", "True"),
            ("ControllerReady", "True"),
            ("AccountingReady", "True")
        ]
    );
}

#[tokio::test]
async fn the_auth_key_is_generated_once_when_its_secret_is_missing() {
    let cluster = with_finalizer(common::cluster());
    let mut server = example_server();
    server.secret = None;
    let (_, seen) = with_server(server, async |client| {
        cluster::reconcile(
            Arc::new(cluster.clone()),
            context(client, Arc::new(FakeSlurm::default())),
        )
        .await
    })
    .await;
    assert_eq!(
        seen[0].line(),
        format!("GET {NS}/secrets/slinky-cluster-auth-key")
    );
    assert_eq!(seen[1].line(), format!("POST {NS}/secrets"));
    let secret = &seen[1].body;
    assert_eq!(secret["metadata"]["name"], "slinky-cluster-auth-key");
    assert_eq!(secret["immutable"], true);
    let key = secret["data"]["slurm.key"].as_str().unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap();
    assert_eq!(bytes.len(), 32);
    assert_eq!(
        seen[2].line(),
        "POST /apis/events.k8s.io/v1/namespaces/slurm/events"
    );
    assert_eq!(seen[2].body["reason"], "AuthKeyCreated");
    // Without a reachable controller the cluster is not Ready, and says why.
    let status = &seen.last().unwrap().body["status"];
    assert_eq!(status["conditions"][0]["type"], "Ready");
    assert_eq!(status["conditions"][0]["status"], "False");
    assert!(
        status["conditions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach slurmctld")
    );
}

#[tokio::test]
async fn an_invalid_cluster_gets_a_warning_and_a_failed_status_and_nothing_else() {
    let mut cluster = with_finalizer(common::cluster());
    cluster.spec.accounting.backend = slinky_operator::crd::AccountingBackend::Mysql;
    let (action, seen) = with_server(example_server(), async |client| {
        cluster::reconcile(
            Arc::new(cluster.clone()),
            context(client, Arc::new(FakeSlurm::default())),
        )
        .await
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(Duration::from_secs(300)));
    let lines: Vec<String> = seen.iter().map(Seen::line).collect();
    assert_eq!(
        lines,
        [
            "POST /apis/events.k8s.io/v1/namespaces/slurm/events",
            "PATCH /apis/slinky.io/v1alpha1/namespaces/slurm/slurmclusters/slinky-cluster/status",
        ]
    );
    assert_eq!(seen[0].body["type"], "Warning");
    let note = seen[0].body["note"].as_str().unwrap();
    assert!(
        note.contains("spec.accounting.mysql: required when backend is mysql"),
        "{note}"
    );
    assert_eq!(seen[1].body["status"]["phase"], "Failed");
}

fn worker_pod(node: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("slinky-cluster-{node}"), "namespace": "slurm",
            "labels": {
                "slinky.io/cluster": "slinky-cluster",
                "app.kubernetes.io/component": "worker",
                "slinky.io/partition": "static-gpu-partition",
                "slinky.io/node": node,
            }
        },
        "spec": {"containers": [{"name": "slurmd", "image": "x"}]},
        "status": {"phase": "Running"}
    })
}

#[tokio::test]
async fn deleting_a_partition_drains_it_and_keeps_busy_nodes_until_they_finish() {
    let mut p: Partition = with_finalizer(common::example("partition-gpu-static.yaml"));
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    let mut server = example_server();
    server.pods = vec![
        worker_pod("static-gpu-partition-0"),
        worker_pod("static-gpu-partition-1"),
    ];
    let slurm = Arc::new(FakeSlurm {
        snapshot: Some(example_snapshot()),
        ..Default::default()
    });
    let (action, seen) = with_server(server, async |client| {
        partition::reconcile(Arc::new(p.clone()), context(client, slurm.clone())).await
    })
    .await;
    // Still waiting (node 0 runs a job): looked at again soon, finalizer kept, no warning.
    assert_eq!(action.unwrap(), Action::requeue(REFRESH));
    let lines: Vec<String> = seen.iter().map(Seen::line).collect();
    assert_eq!(
        lines,
        [
            format!("GET {NS}/pods"),
            "GET /apis/slinky.io/v1alpha1/namespaces/slurm/slurmclusters/slinky-cluster".into(),
            format!("GET {NS}/secrets/slinky-cluster-auth-key"),
            format!("DELETE {NS}/pods/slinky-cluster-static-gpu-partition-1"),
        ]
    );
    assert!(
        seen[0]
            .query
            .contains("slinky.io%2Fpartition%3Dstatic-gpu-partition")
    );
    let drained = slurm.drained.lock().unwrap().clone();
    assert_eq!(
        drained,
        [(
            vec![
                "static-gpu-partition-0".to_owned(),
                "static-gpu-partition-1".to_owned()
            ],
            "Partition deleted".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_partition_reports_its_nodes_and_pending_jobs() {
    let p: Partition = with_finalizer(common::example("partition-gpu-dynamic.yaml"));
    let slurm = Arc::new(FakeSlurm {
        snapshot: Some(example_snapshot()),
        ..Default::default()
    });
    let (action, seen) = with_server(example_server(), async |client| {
        partition::reconcile(Arc::new(p.clone()), context(client, slurm.clone())).await
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(REFRESH));
    let last = seen.last().unwrap();
    assert_eq!(
        last.line(),
        "PATCH /apis/slinky.io/v1alpha1/namespaces/slurm/partitions/gpu-partition/status"
    );
    let status = &last.body["status"];
    assert_eq!(status["pendingJobs"], 2);
    assert_eq!(
        status["pendingReasons"],
        json!([{"reason": "Priority", "count": 1}, {"reason": "Resources", "count": 1}])
    );
    assert_eq!(status["earliestPlannedStart"], "2023-11-14T22:13:20Z");
    assert_eq!(status["nodes"]["poweredDown"], 2);
    assert_eq!(status["conditions"][0]["type"], "Ready");
    assert_eq!(status["conditions"][0]["status"], "True");
    assert_eq!(status["conditions"][1]["type"], "Valid");
    assert_eq!(status["conditions"][1]["status"], "True");
}

#[tokio::test]
async fn an_invalid_partition_says_which_field_is_wrong() {
    let mut p: Partition = with_finalizer(common::example("partition-gpu-dynamic.yaml"));
    p.spec.gres = Some("gpu:16".into());
    let mut server = example_server();
    server.partitions[0] = serde_json::to_value(&p).unwrap();
    let (_, seen) = with_server(server, async |client| {
        partition::reconcile(
            Arc::new(p.clone()),
            context(client, Arc::new(FakeSlurm::default())),
        )
        .await
    })
    .await;
    let event = seen
        .iter()
        .find(|s| s.method == "POST")
        .expect("a warning event");
    assert_eq!(event.body["type"], "Warning");
    assert_eq!(
        event.body["note"],
        "spec.gres asks for gpu:16 but instance type p4dn.24xlarge has 8 GPUs"
    );
    let status = &seen.last().unwrap().body["status"];
    assert_eq!(status["conditions"][1]["status"], "False");
    assert_eq!(status["conditions"][0]["reason"], "Invalid");
}

#[tokio::test]
async fn busy_workers_are_protected_and_those_on_cordoned_nodes_drained() {
    let cluster = with_finalizer(common::cluster());
    let parts = common::partitions();
    let inputs = ClusterInputs::new(&cluster, parts.iter().map(common::input).collect(), None);
    let rendered = render::render_cluster(&inputs);
    let mut server = example_server();
    server.pods = rendered
        .static_workers
        .iter()
        .zip(["ip-10-0-0-1", "ip-10-0-0-2"])
        .map(|(pod, host)| {
            let mut pod = serde_json::to_value(pod).unwrap();
            pod["spec"]["nodeName"] = json!(host);
            pod["status"] = json!({"phase": "Running"});
            pod
        })
        .collect();
    server.nodes = vec![
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-0-1"},
               "spec": {"unschedulable": true}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-0-2"}, "spec": {}}),
    ];
    let slurm = Arc::new(FakeSlurm {
        snapshot: Some(example_snapshot()),
        ..Default::default()
    });
    let (action, seen) = with_server(server, async |client| {
        cluster::reconcile(Arc::new(cluster.clone()), context(client, slurm.clone())).await
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(REFRESH));
    let tail: Vec<String> = seen[16..].iter().map(Seen::line).collect();
    assert_eq!(
        tail,
        [
            format!("GET {NS}/pods"),
            format!("PATCH {NS}/pods/slinky-cluster-static-gpu-partition-0"),
            format!("PATCH {NS}/pods/slinky-cluster-static-gpu-partition-1"),
            "GET /api/v1/nodes/ip-10-0-0-1".into(),
            "GET /api/v1/nodes/ip-10-0-0-2".into(),
            "POST /apis/events.k8s.io/v1/namespaces/slurm/events".into(),
            "PATCH /apis/slinky.io/v1alpha1/namespaces/slurm/slurmclusters/slinky-cluster/status"
                .into(),
        ]
    );
    // Merge patches of the busy label (no pod was created or replaced: their specs match).
    assert_eq!(
        seen[17].body,
        json!({"metadata": {"labels": {"slinky.io/busy": "true"},
                            "annotations": {"karpenter.sh/do-not-disrupt": "true"}}})
    );
    assert_eq!(seen[17].query, "");
    assert_eq!(
        seen[18].body["metadata"]["labels"]["slinky.io/busy"],
        "false"
    );
    assert_eq!(seen[21].body["reason"], "NodesDrained");
    assert_eq!(
        slurm.drained.lock().unwrap().clone(),
        [(
            vec!["static-gpu-partition-0".to_owned()],
            "Kubernetes node ip-10-0-0-1 is cordoned or being disrupted".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_deleted_cluster_with_an_unreachable_controller_waits_then_removes_its_workers() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::{SignedDuration, Timestamp};
    let deleted = |ago: SignedDuration| {
        let mut c = with_finalizer(common::cluster());
        c.metadata.deletion_timestamp = Some(Time(Timestamp::now() - ago));
        c
    };
    let server = || {
        let mut server = example_server();
        server.pods = vec![
            worker_pod("static-gpu-partition-0"),
            worker_pod("static-gpu-partition-1"),
        ];
        server
    };
    // Just deleted: nothing is known about the nodes, so nothing is removed yet.
    let cluster = deleted(SignedDuration::from_secs(10));
    let (action, seen) = with_server(server(), async |client| {
        cluster::reconcile(
            Arc::new(cluster.clone()),
            context(client, Arc::new(FakeSlurm::default())),
        )
        .await
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(REFRESH));
    assert!(seen.iter().all(|s| s.method != "DELETE"), "{seen:?}");

    // Past the grace period: the pods go (and the finalizer with them once they are gone).
    let cluster = deleted(SignedDuration::from_secs(600));
    let (_, seen) = with_server(server(), async |client| {
        cluster::reconcile(
            Arc::new(cluster.clone()),
            context(client, Arc::new(FakeSlurm::default())),
        )
        .await
    })
    .await;
    let deletes: Vec<String> = seen
        .iter()
        .filter(|s| s.method == "DELETE")
        .map(Seen::line)
        .collect();
    assert_eq!(
        deletes,
        [
            format!("DELETE {NS}/pods/slinky-cluster-static-gpu-partition-0"),
            format!("DELETE {NS}/pods/slinky-cluster-static-gpu-partition-1"),
        ]
    );
}

#[tokio::test]
async fn rds_without_the_aws_feature_is_explained_in_status_and_event() {
    let mut cluster = with_finalizer(common::cluster());
    cluster.spec.accounting = serde_json::from_value(json!({
        "backend": "rds",
        "rds": {"instanceIdentifier": "slurm-acct", "database": "slurm", "user": "slurm",
                "passwordSecret": {"name": "db", "key": "password"}}
    }))
    .unwrap();
    let (action, seen) = with_server(example_server(), async |client| {
        cluster::reconcile(
            Arc::new(cluster.clone()),
            context(client, Arc::new(FakeSlurm::default())),
        )
        .await
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(Duration::from_secs(5)));
    let lines: Vec<String> = seen.iter().map(Seen::line).collect();
    assert_eq!(
        lines,
        [
            format!("GET {NS}/secrets/slinky-cluster-auth-key"),
            "PATCH /apis/slinky.io/v1alpha1/namespaces/slurm/slurmclusters/slinky-cluster/status"
                .into(),
            "POST /apis/events.k8s.io/v1/namespaces/slurm/events".into(),
        ]
    );
    let message = seen[1].body["status"]["conditions"][1]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with("spec.accounting.rds: cannot look up RDS instance slurm-acct: this operator was built without the aws feature"),
        "{message}"
    );
    assert_eq!(seen[2].body["type"], "Warning");
}

#[tokio::test]
async fn a_changed_controller_volume_size_keeps_the_old_template_and_warns() {
    let cluster = with_finalizer(common::cluster());
    let parts = common::partitions();
    let inputs = ClusterInputs::new(&cluster, parts.iter().map(common::input).collect(), None);
    let mut existing = serde_json::to_value(render::render_cluster(&inputs).controller).unwrap();
    existing["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
        json!("5Gi");
    let mut server = example_server();
    server.statefulset = Some(Mutex::new(existing));
    let (action, seen) = with_server(server, async |client| {
        cluster::reconcile(
            Arc::new(cluster.clone()),
            context(client, Arc::new(FakeSlurm::default())),
        )
        .await
    })
    .await;
    assert_eq!(action.unwrap(), Action::requeue(REFRESH));
    let lines: Vec<String> = seen[8..12].iter().map(Seen::line).collect();
    assert_eq!(
        lines,
        [
            format!("PATCH {APPS}/statefulsets/slinky-cluster-controller"),
            format!("GET {APPS}/statefulsets/slinky-cluster-controller"),
            "POST /apis/events.k8s.io/v1/namespaces/slurm/events".into(),
            format!("PATCH {APPS}/statefulsets/slinky-cluster-controller"),
        ]
    );
    assert_eq!(seen[10].body["reason"], "StorageUnchanged");
    assert_eq!(
        seen[11].body["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "5Gi"
    );
}

/// The rendered static worker pods, running; `terminating` is deleted (notice `ago` seconds
/// ago, grace period 120 s) with Kubernetes' `DisruptionTarget` condition of an eviction.
fn static_pods(terminating: Option<(&str, i64)>) -> Vec<Value> {
    let cluster = with_finalizer(common::cluster());
    let parts = common::partitions();
    let inputs = ClusterInputs::new(&cluster, parts.iter().map(common::input).collect(), None);
    render::render_cluster(&inputs)
        .static_workers
        .iter()
        .map(|pod| {
            let mut pod = serde_json::to_value(pod).unwrap();
            pod["metadata"]["uid"] = json!(format!("uid-{}", pod["metadata"]["name"]));
            pod["status"] = json!({"phase": "Running"});
            if let Some((node, ago)) = terminating
                && pod["metadata"]["labels"]["slinky.io/node"] == node
            {
                let deadline = k8s_openapi::jiff::Timestamp::now()
                    + k8s_openapi::jiff::SignedDuration::from_secs(120 - ago);
                pod["metadata"]["deletionTimestamp"] = json!(deadline.to_string());
                pod["metadata"]["deletionGracePeriodSeconds"] = json!(120);
                pod["status"]["conditions"] = json!([{
                    "type": "DisruptionTarget", "status": "True",
                    "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"
                }]);
            }
            pod
        })
        .collect()
}

fn running(id: u32, node: &str, signal: Option<&str>, requeue: bool) -> RunningJob {
    RunningJob {
        id,
        nodes: vec![node.into()],
        signal: signal.map(|s| JobSignal::parse(s).unwrap()),
        requeue,
    }
}

#[tokio::test]
async fn a_terminating_worker_pod_drains_its_node_signals_and_requeues_its_jobs() {
    use slinky_operator::reconcile::workers;
    let cluster = with_finalizer(common::cluster());
    let node0 = "static-gpu-partition-0";
    let mut snapshot = example_snapshot();
    snapshot.running = vec![
        running(7, node0, None, true),
        running(8, node0, Some("B:USR1@90"), true),
        running(9, node0, None, false),
        running(10, "static-gpu-partition-1", Some("USR2@10"), true),
    ];
    let mut server = example_server();
    // The termination notice came 20 s ago.
    server.pods = static_pods(Some((node0, 20)));
    let slurm = Arc::new(FakeSlurm {
        snapshot: Some(snapshot.clone()),
        ..Default::default()
    });
    let ((action, second), seen) = with_server(server, async |client| {
        let ctx = context(client, slurm.clone());
        let action = cluster::reconcile(Arc::new(cluster.clone()), ctx.clone()).await;
        // The next pass, 15 s later, with the node drained by the first.
        let mut drained = snapshot.clone();
        drained.nodes[0].state.flags.drain = true;
        drained.nodes[0].reason = Some("pod deleted: EvictionByEvictionAPI".into());
        let pods: Vec<k8s_openapi::api::core::v1::Pod> = static_pods(Some((node0, 20)))
            .into_iter()
            .map(|p| serde_json::from_value(p).unwrap())
            .collect();
        let target = cluster::target(&cluster, vec![0; 32]);
        let later =
            k8s_openapi::jiff::Timestamp::now() + k8s_openapi::jiff::SignedDuration::from_secs(15);
        let second = workers::handle_terminating(&ctx, &pods, &drained, &target, later).await;
        (action, second)
    })
    .await;

    // Drained with the pod's reason; the job without --signal requeued at once, the one with
    // B:USR1@90 signalled now (its requeue waits 30 s, the most honoured), the --no-requeue
    // one left to end with the node, the other node's job untouched.
    assert_eq!(
        slurm.drained.lock().unwrap().clone(),
        [(
            vec![node0.to_owned()],
            "pod deleted: EvictionByEvictionAPI (Eviction API: evicting)".to_owned()
        )]
    );
    let action = action.unwrap();
    // Looked at again when job 8's 30 s are over (10 s from now, in whole seconds).
    assert!(
        [10, 11]
            .map(|s| Action::requeue(Duration::from_secs(s)))
            .contains(&action),
        "{action:?}"
    );
    let events: Vec<(&str, &str)> = seen
        .iter()
        .filter(|s| s.path.ends_with("/events"))
        .map(|s| {
            (
                s.body["reason"].as_str().unwrap(),
                s.body["note"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events[..2],
        [
            (
                "PodTerminating",
                "drained Slurm node static-gpu-partition-0: pod deleted: EvictionByEvictionAPI (Eviction API: evicting)"
            ),
            (
                "JobsRequeued",
                "jobs on terminating worker pods: signalled [8], requeued [7]"
            ),
        ]
    );
    // Second pass: no second drain or signal; job 8's lead time is over, so it is requeued.
    let second = second.unwrap();
    assert!(second.drained.is_empty() && second.signalled.is_empty());
    assert_eq!(second.requeued, [8]);
    assert_eq!(second.next, None);
    assert_eq!(
        slurm.calls(),
        ["signal 8 10 true", "requeue 7", "requeue 8"]
    );
    assert_eq!(slurm.drained.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn pod_deletion_drains_are_lifted_once_no_pod_of_the_node_terminates() {
    use slinky_operator::reconcile::workers;
    let cluster = with_finalizer(common::cluster());
    let drained = |name: &str, reason: &str| {
        let mut n = node(name, NodeBaseState::Idle);
        n.state.flags.drain = true;
        n.reason = Some(reason.into());
        n
    };
    let mut suspended = powered_down("gpu-partition-0");
    suspended.state.flags.powering_down = true;
    let snapshot = SlurmSnapshot {
        nodes: vec![
            // Its replacement pod runs: the operator's drain goes.
            drained(
                "static-gpu-partition-1",
                "pod deleted: EvictionByEvictionAPI",
            ),
            // Still terminating: stays drained.
            drained("static-gpu-partition-0", "pod deleted: x is terminating"),
            // An admin's drain stays.
            drained("cpu-partition-0", "maintenance"),
            suspended,
        ],
        ..Default::default()
    };
    let mut pods: Vec<k8s_openapi::api::core::v1::Pod> =
        static_pods(Some(("static-gpu-partition-0", 5)))
            .into_iter()
            .map(|p| serde_json::from_value(p).unwrap())
            .collect();
    // A dynamic node's pod being deleted because the controller suspended it: left alone.
    let mut dynamic = pods[0].clone();
    dynamic.metadata.name = Some("slinky-cluster-gpu-partition-0".into());
    dynamic
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("slinky.io/node".into(), "gpu-partition-0".into());
    pods.push(dynamic);
    let slurm = Arc::new(FakeSlurm::default());
    let (outcome, seen) = with_server(example_server(), async |client| {
        let ctx = context(client, slurm.clone());
        let target = cluster::target(&cluster, vec![0; 32]);
        workers::handle_terminating(
            &ctx,
            &pods,
            &snapshot,
            &target,
            k8s_openapi::jiff::Timestamp::now(),
        )
        .await
    })
    .await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.undrained, ["static-gpu-partition-1"]);
    assert!(outcome.drained.is_empty(), "{outcome:?}");
    assert_eq!(slurm.calls(), ["undrain static-gpu-partition-1"]);
    assert!(slurm.drained.lock().unwrap().is_empty());
    assert!(seen.is_empty(), "no Kubernetes request: {seen:?}");
}

#[test]
fn termination_reasons_name_the_disruption_or_the_pod() {
    use slinky_operator::reconcile::workers::{notice_time, termination_reason};
    let pods: Vec<k8s_openapi::api::core::v1::Pod> =
        static_pods(Some(("static-gpu-partition-0", 30)))
            .into_iter()
            .map(|p| serde_json::from_value(p).unwrap())
            .collect();
    assert_eq!(
        termination_reason(&pods[0]).as_deref(),
        Some("pod deleted: EvictionByEvictionAPI (Eviction API: evicting)")
    );
    assert_eq!(termination_reason(&pods[1]), None);
    let ago = k8s_openapi::jiff::Timestamp::now()
        .duration_since(notice_time(&pods[0]).unwrap())
        .as_secs();
    assert!((29..=31).contains(&ago), "{ago}");
    let mut plain = pods[0].clone();
    plain.status = None;
    assert_eq!(
        termination_reason(&plain).as_deref(),
        Some("pod deleted: slinky-cluster-static-gpu-partition-0 is terminating")
    );
}
