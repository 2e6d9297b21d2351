//! Golden files: every object the operator renders for the example cluster
//! (examples/k8s/), slurm.conf and gres.conf among them, and checks that slurm-core loads
//! what was rendered.

mod common;

use common::{cluster, golden, input, partitions};
use slinky_operator::render::{self, ClusterInputs};
use slinky_operator::yaml;
use slurm_core::config::{apply_gres_conf, parse_gres_conf, parse_slurm_conf};

fn rendered() -> (String, render::Rendered) {
    let c = cluster();
    let parts = partitions();
    let inputs = ClusterInputs::new(&c, parts.iter().map(input).collect(), None);
    let r = render::render_cluster(&inputs);
    let mut out = String::new();
    let docs: Vec<String> = vec![
        yaml::to_doc(&r.service_account).unwrap(),
        yaml::to_doc(&r.role).unwrap(),
        yaml::to_doc(&r.role_binding).unwrap(),
        yaml::to_doc(&r.config_map).unwrap(),
        yaml::to_doc(&r.controller_headless_service).unwrap(),
        yaml::to_doc(&r.controller_service).unwrap(),
        yaml::to_doc(&r.controller).unwrap(),
        yaml::to_doc(r.dbd_data.as_ref().unwrap()).unwrap(),
        yaml::to_doc(&r.dbd_service).unwrap(),
        yaml::to_doc(&r.dbd).unwrap(),
        yaml::to_doc(r.home.as_ref().unwrap()).unwrap(),
        yaml::to_doc(&r.login).unwrap(),
        yaml::to_doc(&r.workers_service).unwrap(),
        yaml::to_doc(&r.busy_workers_pdb).unwrap(),
    ];
    for d in docs {
        out.push_str(&d);
    }
    for pod in &r.static_workers {
        out.push_str(&yaml::to_doc(pod).unwrap());
    }
    (out, r)
}

#[test]
fn every_rendered_object_matches_its_golden_file() {
    let (objects, _) = rendered();
    golden("objects.yaml", &objects);
}

#[test]
fn slurm_conf_and_gres_conf_match_their_golden_files_and_load() {
    let (_, r) = rendered();
    let data = r.config_map.data.as_ref().unwrap();
    let slurm_conf = &data["slurm.conf"];
    let gres_conf = &data["gres.conf"];
    golden("slurm.conf", slurm_conf);
    golden("gres.conf", gres_conf);
    golden("slurmdbd.conf", &data["slurmdbd.conf"]);

    let loaded = parse_slurm_conf(slurm_conf, "slurm.conf").expect("rendered slurm.conf loads");
    let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut cfg = loaded.cluster;
    assert_eq!(cfg.nodes.len(), 2 + 2 + 10);
    let gpu0 = cfg.node("gpu-partition-0").unwrap();
    assert!(gpu0.cloud);
    assert_eq!(gpu0.cpus, 96);
    assert_eq!(
        slurm_core::parse::tres::format_gres_list(&gpu0.gres),
        "gpu:a100:8"
    );
    let static0 = cfg.node("static-gpu-partition-0").unwrap();
    assert!(!static0.cloud);
    assert_eq!(cfg.default_partition().unwrap().name, "cpu-partition");
    assert_eq!(cfg.power.suspend_time, Some(600));
    assert_eq!(cfg.power.resume_timeout, 900);
    assert_eq!(
        cfg.controller_hosts[0].name,
        "slinky-cluster-controller.slurm.svc"
    );

    let gres = parse_gres_conf(gres_conf, "gres.conf").expect("rendered gres.conf loads");
    assert!(gres.warnings.is_empty(), "{:?}", gres.warnings);
    let warnings = apply_gres_conf(&mut cfg, &gres);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn worker_pod_of_a_dynamic_node_matches_its_golden_file() {
    let c = cluster();
    let parts = partitions();
    let gpu = input(&parts[0]);
    let pod = render::render_worker_pod(&c, &gpu, "gpu-partition-0");
    golden(
        "worker-pod-gpu-partition-0.yaml",
        &yaml::to_doc(&pod).unwrap(),
    );

    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("gpu-partition-0"));
    let container = &spec.containers[0];
    assert_eq!(
        container.args.as_ref().unwrap(),
        &[
            "slurmd",
            "-D",
            "-N",
            "gpu-partition-0",
            "--kill-jobs-on-exit"
        ]
    );
    // The agent stays up while the operator drains the node and requeues its jobs.
    assert_eq!(spec.termination_grace_period_seconds, Some(120));
    let pre_stop = container.lifecycle.as_ref().unwrap().pre_stop.as_ref();
    assert_eq!(pre_stop.unwrap().sleep.as_ref().unwrap().seconds, 60);
    let limits = container
        .resources
        .as_ref()
        .unwrap()
        .limits
        .as_ref()
        .unwrap();
    assert_eq!(limits["nvidia.com/gpu"].0, "8");
    assert_eq!(limits["vpc.amazonaws.com/efa"].0, "4");
    assert_eq!(
        spec.node_selector.as_ref().unwrap()["karpenter.sh/nodepool"],
        "slurm-gpu-pool"
    );
    let toleration = &spec.tolerations.as_ref().unwrap()[0];
    assert_eq!(toleration.key.as_deref(), Some("slinky.io/usage"));
    assert_eq!(toleration.value.as_deref(), Some("gpu-task"));
    assert_eq!(toleration.effect.as_deref(), Some("NoSchedule"));
    let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Partition", "gpu-partition")
    );
}

#[test]
fn static_partitions_get_one_pod_per_node_pinned_to_their_nodes() {
    let (_, r) = rendered();
    let names: Vec<&str> = r
        .static_workers
        .iter()
        .map(|p| p.metadata.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "slinky-cluster-static-gpu-partition-0",
            "slinky-cluster-static-gpu-partition-1"
        ]
    );
    for pod in &r.static_workers {
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(
            spec.node_selector.as_ref().unwrap()["role"],
            "slurm-static-gpu"
        );
    }
}

#[test]
fn everything_is_owned_by_the_cluster() {
    let (_, r) = rendered();
    let metas = [
        &r.service_account.metadata,
        &r.role.metadata,
        &r.role_binding.metadata,
        &r.config_map.metadata,
        &r.controller_service.metadata,
        &r.controller_headless_service.metadata,
        &r.controller.metadata,
        &r.dbd_service.metadata,
        &r.dbd.metadata,
        &r.login.metadata,
        &r.workers_service.metadata,
        &r.busy_workers_pdb.metadata,
    ];
    for m in metas {
        let owner = &m.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.kind, "SlurmCluster", "{:?}", m.name);
        assert_eq!(owner.uid, "uid-slinky-cluster");
        assert_eq!(owner.controller, Some(true));
    }
}

#[test]
fn a_partition_change_changes_the_config_hash_of_the_pod_templates() {
    let c = cluster();
    let mut parts = partitions();
    let before = {
        let inputs = ClusterInputs::new(&c, parts.iter().map(input).collect(), None);
        render::render_cluster(&inputs)
    };
    parts[2].spec.nodes = 12;
    let after = {
        let inputs = ClusterInputs::new(&c, parts.iter().map(input).collect(), None);
        render::render_cluster(&inputs)
    };
    let hash = |r: &render::Rendered| {
        r.controller
            .spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()["slinky.io/config-hash"]
            .clone()
    };
    assert_ne!(hash(&before), hash(&after));
    assert!(after.config_map.data.as_ref().unwrap()["slurm.conf"].contains("cpu-partition-[0-11]"));
}
