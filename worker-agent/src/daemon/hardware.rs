//! What the node has: CPUs, topology, memory and GPUs, as registered with the controller.
//!
//! CPUs are the ones this process may run on (`Cpus_allowed_list`, else the available
//! parallelism); sockets, cores and threads come from sysfs topology of those CPUs (else
//! 1 × N × 1); memory is `MemTotal` from `/proc/meminfo`; GPUs come from
//! [`crate::gpu::discover_gpus`] (NVML, gres.conf `File=`, none).
//!
//! In local mode several agents share one host, each standing for one `NodeName=` line:
//! when the node is defined in slurm.conf with less than the host has, the configured
//! figures are reported instead ([`fit_to_config`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use slurm_core::config::GresConf;
use slurm_core::model::NodeConfig;
use slurm_core::proto::{GpuInfo, NodeHardware};

use crate::gpu::{GpuSource, discover_gpus};

/// This node's hardware: host detection, then the node's slurm.conf definition where it is
/// smaller. Logs what was found and where it came from.
pub fn detect(
    node: &str,
    config: Option<&NodeConfig>,
    gres_conf: Option<&GresConf>,
) -> NodeHardware {
    let cpu_ids = allowed_cpus();
    let (sockets, cores_per_socket, threads_per_core) =
        topology(Path::new("/sys/devices/system/cpu"), &cpu_ids);
    let real_memory_mb = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| parse_meminfo_mib(&t))
        .unwrap_or_else(|| {
            tracing::warn!("cannot read MemTotal from /proc/meminfo: reporting 1 MiB");
            1
        });
    let (devices, source) = discover_gpus(node, gres_conf);
    let configured_kind = config.and_then(single_gpu_kind);
    let gpus = devices
        .into_iter()
        .map(|d| match source {
            // NVML names the product ("NVIDIA A100-SXM4-80GB"); the GRES type is what
            // slurm.conf calls it.
            GpuSource::Nvml => GpuInfo {
                kind: configured_kind.clone(),
                index: d.index,
                uuid: d.uuid,
                memory_mb: d.memory_mib,
                model: d.kind,
            },
            GpuSource::GresConf | GpuSource::None => GpuInfo {
                kind: d.kind,
                index: d.index,
                uuid: d.uuid,
                memory_mb: d.memory_mib,
                model: None,
            },
        })
        .collect();
    let host = NodeHardware {
        cpus: cpu_ids.len().max(1) as u32,
        sockets,
        cores_per_socket,
        threads_per_core,
        real_memory_mb,
        gpus,
    };
    tracing::info!(
        node,
        cpus = host.cpus,
        sockets = host.sockets,
        cores_per_socket = host.cores_per_socket,
        threads_per_core = host.threads_per_core,
        real_memory_mb = host.real_memory_mb,
        gpus = host.gpus.len(),
        gpu_source = ?source,
        "host hardware detected"
    );
    match config {
        Some(cfg) => fit_to_config(node, host, cfg),
        None => {
            tracing::warn!(
                node,
                "node is not defined in slurm.conf: registering the host's hardware"
            );
            host
        }
    }
}

/// The type of the node's GPUs when slurm.conf gives exactly one (`Gres=gpu:a100:4`).
fn single_gpu_kind(cfg: &NodeConfig) -> Option<String> {
    let kinds: BTreeSet<&str> = cfg
        .gres
        .iter()
        .filter(|g| g.name == "gpu")
        .filter_map(|g| g.kind.as_deref())
        .collect();
    match kinds.len() {
        1 => kinds.into_iter().next().map(str::to_owned),
        _ => None,
    }
}

/// The host's hardware limited to the node's slurm.conf definition: where the definition
/// has fewer CPUs, less memory or fewer GPUs of a type than the host, the configured figure
/// is reported (several local agents share one host). Each reduction is logged.
pub fn fit_to_config(node: &str, host: NodeHardware, cfg: &NodeConfig) -> NodeHardware {
    let mut hw = host;
    if cfg.cpus > 0 && cfg.cpus < hw.cpus {
        tracing::info!(
            node,
            host = hw.cpus,
            configured = cfg.cpus,
            "reporting the CPUs configured in slurm.conf, fewer than the host's"
        );
        hw.cpus = cfg.cpus;
        let configured = u64::from(cfg.sockets)
            * u64::from(cfg.cores_per_socket)
            * u64::from(cfg.threads_per_core)
            * u64::from(cfg.boards.max(1));
        if configured == u64::from(cfg.cpus) {
            hw.sockets = cfg.sockets * cfg.boards.max(1);
            hw.cores_per_socket = cfg.cores_per_socket;
            hw.threads_per_core = cfg.threads_per_core;
        } else {
            hw.sockets = 1;
            hw.cores_per_socket = cfg.cpus;
            hw.threads_per_core = 1;
        }
    }
    if cfg.real_memory_mb > 0 && cfg.real_memory_mb < hw.real_memory_mb {
        tracing::info!(
            node,
            host_mb = hw.real_memory_mb,
            configured_mb = cfg.real_memory_mb,
            "reporting the RealMemory configured in slurm.conf, less than the host's"
        );
        hw.real_memory_mb = cfg.real_memory_mb;
    }
    hw.gpus = fit_gpus(node, hw.gpus, cfg);
    hw
}

/// Keeps at most as many GPUs of each type as slurm.conf gives the node (an untyped
/// `gpu:N` limits the total).
fn fit_gpus(node: &str, gpus: Vec<GpuInfo>, cfg: &NodeConfig) -> Vec<GpuInfo> {
    let configured: Vec<_> = cfg.gres.iter().filter(|g| g.name == "gpu").collect();
    let total: u64 = configured.iter().map(|g| g.count).sum();
    let typed: BTreeMap<&str, u64> = configured
        .iter()
        .filter_map(|g| g.kind.as_deref().map(|k| (k, g.count)))
        .collect();
    let found = gpus.len();
    let mut taken: BTreeMap<Option<String>, u64> = BTreeMap::new();
    let mut kept = Vec::new();
    for gpu in gpus {
        if kept.len() as u64 >= total {
            break;
        }
        if let Some(kind) = gpu.kind.as_deref()
            && !typed.is_empty()
        {
            let limit = typed.get(kind).copied().unwrap_or(0);
            let used = taken.entry(gpu.kind.clone()).or_default();
            if *used >= limit {
                continue;
            }
            *used += 1;
        }
        kept.push(gpu);
    }
    if kept.len() < found {
        tracing::info!(
            node,
            host = found,
            configured = total,
            "reporting the GPUs configured in slurm.conf, fewer than the host's"
        );
    }
    kept
}

/// Stand-in devices for the GPUs slurm.conf gives `cfg`, numbered from 0 in config order
/// (see [`super::AgentOptions::emulate_gpus`]).
pub fn emulated_gpus(node: &str, cfg: &NodeConfig) -> Vec<GpuInfo> {
    let mut out = Vec::new();
    for g in cfg.gres.iter().filter(|g| g.name == "gpu") {
        for _ in 0..g.count {
            out.push(GpuInfo {
                kind: g.kind.clone(),
                index: out.len() as u32,
                uuid: None,
                memory_mb: None,
                model: Some("emulated".to_owned()),
            });
        }
    }
    if !out.is_empty() {
        tracing::warn!(
            node,
            count = out.len(),
            "no GPU device found: emulating the GPUs slurm.conf configures (jobs get indices, not devices)"
        );
    }
    out
}

/// The CPUs this process may run on: `Cpus_allowed_list` of `/proc/self/status`, else
/// `0..available_parallelism`.
fn allowed_cpus() -> Vec<u32> {
    let from_status = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(str::trim)
                .and_then(parse_cpu_list)
        })
        .filter(|l| !l.is_empty());
    from_status.unwrap_or_else(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        (0..n).collect()
    })
}

/// Parses a kernel CPU list (`0-3,8,10-11`).
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// `MemTotal` of `/proc/meminfo`, in MiB.
pub fn parse_meminfo_mib(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let mut words = line.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    let unit = words.next().unwrap_or("kB");
    let kib = match unit {
        "kB" | "KB" | "kiB" | "KiB" => value,
        "B" => value / 1024,
        "mB" | "MB" | "MiB" => value * 1024,
        _ => return None,
    };
    Some(kib / 1024)
}

/// Sockets, cores per socket and threads per core of `cpus`, from
/// `<sysfs>/cpuN/topology/{physical_package_id,core_id}`. Falls back to 1 × N × 1 when the
/// topology is missing or not uniform.
pub fn topology(sysfs: &Path, cpus: &[u32]) -> (u32, u32, u32) {
    let fallback = (1, cpus.len().max(1) as u32, 1);
    let read = |cpu: u32, file: &str| -> Option<i64> {
        fs::read_to_string(sysfs.join(format!("cpu{cpu}/topology/{file}")))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    // (package, core) -> threads
    let mut cores: BTreeMap<(i64, i64), u32> = BTreeMap::new();
    for &cpu in cpus {
        let (Some(pkg), Some(core)) = (read(cpu, "physical_package_id"), read(cpu, "core_id"))
        else {
            return fallback;
        };
        *cores.entry((pkg, core)).or_default() += 1;
    }
    let sockets: BTreeSet<i64> = cores.keys().map(|(p, _)| *p).collect();
    let Some(&threads) = cores.values().next() else {
        return fallback;
    };
    let n_sockets = sockets.len() as u32;
    let n_cores = cores.len() as u32;
    let uniform = cores.values().all(|&t| t == threads)
        && n_sockets > 0
        && n_cores.is_multiple_of(n_sockets)
        && n_cores * threads == cpus.len() as u32;
    if !uniform {
        return fallback;
    }
    (n_sockets, n_cores / n_sockets, threads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slurm_core::model::Gres;

    fn gpu(index: u32, kind: Option<&str>) -> GpuInfo {
        GpuInfo {
            kind: kind.map(str::to_owned),
            index,
            uuid: None,
            memory_mb: None,
            model: None,
        }
    }

    fn host() -> NodeHardware {
        NodeHardware {
            cpus: 16,
            sockets: 2,
            cores_per_socket: 4,
            threads_per_core: 2,
            real_memory_mb: 64_000,
            gpus: vec![
                gpu(0, Some("a100")),
                gpu(1, Some("a100")),
                gpu(2, Some("t4")),
            ],
        }
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8"), Some(vec![0, 1, 2, 3, 8]));
        assert_eq!(parse_cpu_list("5"), Some(vec![5]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn meminfo() {
        let text = "MemTotal:       16316412 kB\nMemFree:  100 kB\n";
        assert_eq!(parse_meminfo_mib(text), Some(15_933));
        assert_eq!(parse_meminfo_mib("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn topology_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        // 2 sockets x 2 cores x 2 threads.
        for cpu in 0..8u32 {
            let t = dir.path().join(format!("cpu{cpu}/topology"));
            fs::create_dir_all(&t).unwrap();
            fs::write(t.join("physical_package_id"), format!("{}\n", cpu / 4)).unwrap();
            fs::write(t.join("core_id"), format!("{}\n", (cpu % 4) / 2)).unwrap();
        }
        let cpus: Vec<u32> = (0..8).collect();
        assert_eq!(topology(dir.path(), &cpus), (2, 2, 2));
        // Only part of a core allowed: not uniform.
        assert_eq!(topology(dir.path(), &[0, 1, 2]), (1, 3, 1));
        // Missing topology.
        assert_eq!(topology(dir.path(), &[0, 9]), (1, 2, 1));
    }

    #[test]
    fn smaller_configuration_wins() {
        let mut cfg = NodeConfig::simple("n1", 4, 8_000);
        cfg.gres = vec![Gres::new("gpu", Some("a100"), 1)];
        let hw = fit_to_config("n1", host(), &cfg);
        assert_eq!(
            (
                hw.cpus,
                hw.sockets,
                hw.cores_per_socket,
                hw.threads_per_core
            ),
            (4, 1, 4, 1)
        );
        assert_eq!(hw.real_memory_mb, 8_000);
        assert_eq!(hw.gpus, vec![gpu(0, Some("a100"))]);

        // A larger definition keeps the host's figures.
        let mut big = NodeConfig::simple("n1", 64, 1_000_000);
        big.gres = vec![Gres::new("gpu", None, 8)];
        assert_eq!(fit_to_config("n1", host(), &big), host());

        // No GPUs configured: none reported.
        let plain = NodeConfig::simple("n1", 64, 1_000_000);
        assert!(fit_to_config("n1", host(), &plain).gpus.is_empty());

        // Typed limits per type.
        let mut typed = NodeConfig::simple("n1", 64, 1_000_000);
        typed.gres = vec![
            Gres::new("gpu", Some("a100"), 1),
            Gres::new("gpu", Some("t4"), 1),
        ];
        let kept: Vec<u32> = fit_to_config("n1", host(), &typed)
            .gpus
            .iter()
            .map(|g| g.index)
            .collect();
        assert_eq!(kept, vec![0, 2]);
    }

    #[test]
    fn configured_topology_used_when_consistent() {
        let mut cfg = NodeConfig::simple("n1", 4, 8_000);
        cfg.sockets = 2;
        cfg.cores_per_socket = 1;
        cfg.threads_per_core = 2;
        let hw = fit_to_config("n1", host(), &cfg);
        assert_eq!(
            (
                hw.cpus,
                hw.sockets,
                hw.cores_per_socket,
                hw.threads_per_core
            ),
            (4, 2, 1, 2)
        );
    }
}
