//! slurm.conf, gres.conf and slurmdbd.conf of a cluster, built as slurm-core's
//! [`ClusterConfig`] and written by its renderer.

use super::ClusterInputs;
use super::names;
use crate::crd::{AccountingBackend, Provisioning, SchedulerSpec};
use slurm_core::config::{AccountingStorage, ClusterConfig, ControllerHost, render_slurm_conf};
use slurm_core::model::{AccessList, NodeConfig, PartitionConfig, PartitionState, TimeLimit};
use slurm_core::parse::duration::parse_time_limit;

/// `ResumeTimeout` when the cluster has dynamic partitions and the spec sets none: a cloud
/// node is an EC2 instance to launch and a pod to pull (Slurm's own default, 60 s, is too
/// short for that).
pub const DEFAULT_CLOUD_RESUME_TIMEOUT: u64 = 900;

/// `AccountingStorageEnforce` of every cluster.
pub const ACCOUNTING_ENFORCE: &[&str] = &["associations", "limits", "qos"];

/// The cluster's configuration as slurm-core models it.
pub fn cluster_config(inputs: &ClusterInputs<'_>) -> ClusterConfig {
    let c = inputs.cluster;
    let mut cfg = ClusterConfig::new(c.slurm_cluster_name());
    cfg.controller_hosts = vec![ControllerHost {
        name: names::controller_host(c),
        addr: None,
    }];
    cfg.controller_port = names::SLURMCTLD_PORT;
    cfg.slurmd_port = names::SLURMD_PORT;
    cfg.slurm_user = "root".into();
    cfg.state_save_location = names::STATE_DIR.into();
    cfg.auth_type = "auth/slurm".into();
    cfg.auth_info = Some(format!(
        "key={}/{},socket={}",
        names::KEY_DIR,
        names::KEY_FILE,
        names::AUTH_SOCKET
    ));
    cfg.accounting.storage = AccountingStorage::Slurmdbd;
    cfg.accounting.host = Some(names::dbd_host(c));
    cfg.accounting.port = Some(names::SLURMDBD_PORT);
    cfg.accounting.enforce = ACCOUNTING_ENFORCE.iter().map(|s| (*s).to_owned()).collect();
    apply_scheduler(&mut cfg, &c.spec.scheduler);

    let mut any_gpu = false;
    let mut any_dynamic = false;
    let mut min_idle: Option<u64> = None;
    for input in &inputs.partitions {
        let p = input.partition;
        let spec = &p.spec;
        let dynamic = spec.provisioning == Provisioning::Dynamic;
        if dynamic {
            any_dynamic = true;
            min_idle = Some(min_idle.map_or(spec.idle_scale_down_seconds, |m| {
                m.min(spec.idle_scale_down_seconds)
            }));
        }
        let shape = &input.valid.shape;
        any_gpu |= input.valid.gres.iter().any(|g| g.name == "gpu");
        let mut features: Vec<String> = spec.instance_types.clone();
        if spec.efa_enabled {
            features.push("efa".into());
        }
        let node_names = p.node_names();
        for name in &node_names {
            let mut node = NodeConfig::simple(name.clone(), shape.cpus, shape.real_memory_mib);
            node.gres = input.valid.gres.clone();
            node.features = features.clone();
            node.cloud = dynamic;
            cfg.nodes.push(node);
        }
        let mut part = PartitionConfig::new(p.slurm_name(), node_names);
        part.default = spec.default.unwrap_or(false);
        part.state = match spec.state {
            None | Some(crate::crd::PartitionStateSpec::Up) => PartitionState::Up,
            Some(crate::crd::PartitionStateSpec::Down) => PartitionState::Down,
            Some(crate::crd::PartitionStateSpec::Drain) => PartitionState::Drain,
            Some(crate::crd::PartitionStateSpec::Inactive) => PartitionState::Inactive,
        };
        if let Some(limit) = spec
            .max_time
            .as_deref()
            .and_then(|t| parse_time_limit(t).ok())
        {
            part.max_time = limit;
        }
        part.default_time = spec
            .default_time
            .as_deref()
            .and_then(|t| parse_time_limit(t).ok());
        if let Some(tier) = spec.priority_tier {
            part.priority_tier = tier;
        }
        if let Some(list) = &spec.allow_accounts {
            part.allow_accounts = AccessList::Only(list.clone());
        }
        if let Some(list) = &spec.allow_groups {
            part.allow_groups = AccessList::Only(list.clone());
        }
        cfg.partitions.push(part);
    }
    if any_gpu {
        cfg.gres_types = vec!["gpu".into()];
        cfg.accounting.tres = vec!["gres/gpu".into()];
    }
    let sched = &c.spec.scheduler;
    cfg.power.suspend_time = sched.suspend_time.or(min_idle);
    if let Some(t) = sched.resume_timeout {
        cfg.power.resume_timeout = t;
    } else if any_dynamic {
        cfg.power.resume_timeout = DEFAULT_CLOUD_RESUME_TIMEOUT;
    }
    cfg
}

fn apply_scheduler(cfg: &mut ClusterConfig, s: &SchedulerSpec) {
    let weights = [
        (s.priority_weight_age, &mut cfg.priority.weight_age),
        (
            s.priority_weight_fairshare,
            &mut cfg.priority.weight_fairshare,
        ),
        (
            s.priority_weight_job_size,
            &mut cfg.priority.weight_job_size,
        ),
        (
            s.priority_weight_partition,
            &mut cfg.priority.weight_partition,
        ),
        (s.priority_weight_qos, &mut cfg.priority.weight_qos),
    ];
    for (given, field) in weights {
        if let Some(w) = given {
            *field = w;
            cfg.priority.multifactor = true;
        }
    }
    let secs = |t: &Option<String>| match t.as_deref().map(parse_time_limit) {
        Some(Ok(TimeLimit::Seconds(s))) => Some(s),
        Some(Ok(TimeLimit::Infinite)) => Some(0),
        _ => None,
    };
    if let Some(s) = secs(&s.priority_decay_half_life) {
        cfg.priority.decay_half_life_s = s;
    }
    if let Some(s) = secs(&s.priority_max_age) {
        cfg.priority.max_age_s = s;
    }
    if let Some(bf) = &s.backfill {
        if let Some(w) = bf.window {
            cfg.scheduler.bf_window_min = w;
        }
        if let Some(r) = bf.resolution {
            cfg.scheduler.bf_resolution_s = r;
        }
        if let Some(m) = bf.max_job_test {
            cfg.scheduler.bf_max_job_test = Some(m);
        }
    }
    if let Some(t) = s.slurmd_timeout {
        cfg.timers.slurmd_timeout = t;
    }
    if let Some(t) = s.kill_wait {
        cfg.timers.kill_wait = t;
    }
    if let Some(t) = s.min_job_age {
        cfg.timers.min_job_age = t;
    }
}

/// slurm.conf text.
pub fn slurm_conf(inputs: &ClusterInputs<'_>) -> String {
    render_slurm_conf(&cluster_config(inputs))
}

/// gres.conf text, when any node has GPUs: `Count=` devices (inside a pod the GPUs the
/// device plugin gave are numbered from 0, whatever their host minors).
pub fn gres_conf(inputs: &ClusterInputs<'_>) -> Option<String> {
    let mut out = String::from("# gres.conf rendered by slinky\nAutoDetect=off\n");
    let mut any = false;
    for input in &inputs.partitions {
        let names = input.partition.node_names();
        if names.is_empty() {
            continue;
        }
        let hostlist = slurm_core::parse::hostlist::compress(&names);
        for g in input.valid.gres.iter().filter(|g| g.name == "gpu") {
            any = true;
            out.push_str(&format!("NodeName={hostlist} Name=gpu"));
            if let Some(kind) = &g.kind {
                out.push_str(&format!(" Type={kind}"));
            }
            out.push_str(&format!(" Count={}\n", g.count));
        }
    }
    any.then_some(out)
}

/// slurmdbd.conf text. The MySQL password is not here: the dbd pod gets the whole database
/// URL from the `<cluster>-dbd-storage` Secret (`SLINKY_DBD_STORAGE`).
pub fn slurmdbd_conf(inputs: &ClusterInputs<'_>) -> String {
    let c = inputs.cluster;
    let mut out = String::from("# slurmdbd.conf rendered by slinky\n");
    out.push_str(&format!("DbdPort={}\n", names::SLURMDBD_PORT));
    out.push_str("SlurmUser=root\n");
    let acct = &c.spec.accounting;
    match acct.backend {
        AccountingBackend::Sqlite => {
            out.push_str("StorageType=accounting_storage/sqlite\n");
            out.push_str(&format!(
                "StorageLoc={}/slurm_acct_db.sqlite\n",
                names::DBD_DATA_DIR
            ));
        }
        AccountingBackend::Mysql | AccountingBackend::Rds => {
            out.push_str("StorageType=accounting_storage/mysql\n");
            if let Some(db) = &inputs.database {
                out.push_str(&format!(
                    "StorageHost={}\nStoragePort={}\nStorageUser={}\nStorageLoc={}\n",
                    db.host, db.port, db.user, db.database
                ));
            }
        }
    }
    out
}
