//! GPU discovery: NVML (cargo feature `nvml`), else `gres.conf` `File=` entries, else none.

use std::path::PathBuf;

use slurm_core::config::GresConf;
use slurm_core::config::gres_conf::AutoDetect;

/// One GPU on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuDevice {
    /// The device index (`/dev/nvidiaN`, `CUDA_VISIBLE_DEVICES`).
    pub index: u32,
    /// `Type=` / the NVML product name.
    pub kind: Option<String>,
    pub uuid: Option<String>,
    pub device_file: Option<PathBuf>,
    pub memory_mib: Option<u64>,
}

/// A discovery that could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    #[error("NVML: {0}")]
    Nvml(String),
    #[error("gres.conf: {0}")]
    GresConf(String),
}

/// A way of finding this node's GPUs.
pub trait GpuDiscovery: Send + Sync {
    /// A short name for logs (`nvml`, `gres.conf`, `none`).
    fn name(&self) -> &'static str;
    fn discover(&self) -> Result<Vec<GpuDevice>, GpuError>;
}

/// No GPUs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGpus;

impl GpuDiscovery for NoGpus {
    fn name(&self) -> &'static str {
        "none"
    }

    fn discover(&self) -> Result<Vec<GpuDevice>, GpuError> {
        Ok(Vec::new())
    }
}

/// GPUs from `gres.conf` lines with `Name=gpu` that apply to this node: each `File=` is a
/// device whose index is the number at the end of its name (`/dev/nvidia3` → 3); a line
/// with only `Count=N` gives N devices numbered after the ones already found.
#[derive(Debug, Clone)]
pub struct GresConfDiscovery {
    pub conf: GresConf,
    pub node: String,
}

impl GpuDiscovery for GresConfDiscovery {
    fn name(&self) -> &'static str {
        "gres.conf"
    }

    fn discover(&self) -> Result<Vec<GpuDevice>, GpuError> {
        let mut out: Vec<GpuDevice> = Vec::new();
        for entry in self
            .conf
            .entries
            .iter()
            .filter(|e| e.name == "gpu" && e.applies_to(&self.node))
        {
            if entry.files.is_empty() {
                let count = entry.device_count();
                for _ in 0..count {
                    let index = out.iter().map(|d| d.index + 1).max().unwrap_or(0);
                    out.push(GpuDevice {
                        index,
                        kind: entry.kind.clone(),
                        uuid: None,
                        device_file: None,
                        memory_mib: None,
                    });
                }
                continue;
            }
            for file in &entry.files {
                let index = trailing_number(file).ok_or_else(|| {
                    GpuError::GresConf(format!(
                        "{}: cannot tell the device index of File={file}",
                        entry.at
                    ))
                })?;
                if out.iter().any(|d| d.index == index) {
                    return Err(GpuError::GresConf(format!(
                        "{}: device index {index} ({file}) listed twice",
                        entry.at
                    )));
                }
                out.push(GpuDevice {
                    index,
                    kind: entry.kind.clone(),
                    uuid: None,
                    device_file: Some(PathBuf::from(file)),
                    memory_mib: None,
                });
            }
        }
        out.sort_by_key(|d| d.index);
        Ok(out)
    }
}

/// `/dev/nvidia12` → 12.
fn trailing_number(file: &str) -> Option<u32> {
    let digits = file.len() - file.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    file[file.len() - digits..].parse().ok()
}

/// GPUs through NVML (`libnvidia-ml.so`, loaded at run time).
#[cfg(feature = "nvml")]
#[derive(Debug, Clone, Copy, Default)]
pub struct NvmlDiscovery;

#[cfg(feature = "nvml")]
impl GpuDiscovery for NvmlDiscovery {
    fn name(&self) -> &'static str {
        "nvml"
    }

    fn discover(&self) -> Result<Vec<GpuDevice>, GpuError> {
        let err = |e: nvml_wrapper::error::NvmlError| GpuError::Nvml(e.to_string());
        let nvml = nvml_wrapper::Nvml::init().map_err(err)?;
        let count = nvml.device_count().map_err(err)?;
        let mut out = Vec::new();
        for i in 0..count {
            let dev = nvml.device_by_index(i).map_err(err)?;
            let index = dev.minor_number().unwrap_or(i);
            out.push(GpuDevice {
                index,
                kind: dev.name().ok(),
                uuid: dev.uuid().ok(),
                device_file: Some(PathBuf::from(format!("/dev/nvidia{index}"))),
                memory_mib: dev.memory_info().ok().map(|m| m.total / (1024 * 1024)),
            });
        }
        Ok(out)
    }
}

/// Where the node's GPU list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuSource {
    Nvml,
    GresConf,
    None,
}

/// Finds this node's GPUs: NVML first (when built with `nvml` and not turned off by
/// `AutoDetect=off` for this node), then `gres.conf` `File=` entries, else none. Logs
/// which source was used and why the others were not.
pub fn discover_gpus(node: &str, gres_conf: Option<&GresConf>) -> (Vec<GpuDevice>, GpuSource) {
    let auto_off = gres_conf.and_then(|c| c.auto_detect_for(node)) == Some(AutoDetect::Off);
    let nvml: Option<Box<dyn GpuDiscovery>> = if auto_off {
        tracing::info!(node, "gres.conf sets AutoDetect=off: NVML is not consulted");
        None
    } else {
        nvml_discovery()
    };
    let gres = gres_conf.map(|c| GresConfDiscovery {
        conf: c.clone(),
        node: node.to_owned(),
    });
    pick(
        node,
        nvml.as_deref(),
        gres.as_ref().map(|g| g as &dyn GpuDiscovery),
    )
}

#[cfg(feature = "nvml")]
fn nvml_discovery() -> Option<Box<dyn GpuDiscovery>> {
    Some(Box::new(NvmlDiscovery))
}

#[cfg(not(feature = "nvml"))]
fn nvml_discovery() -> Option<Box<dyn GpuDiscovery>> {
    tracing::debug!("built without the nvml feature: NVML discovery is off");
    None
}

/// The selection logic of [`discover_gpus`] over any discoveries.
pub fn pick(
    node: &str,
    nvml: Option<&dyn GpuDiscovery>,
    gres: Option<&dyn GpuDiscovery>,
) -> (Vec<GpuDevice>, GpuSource) {
    if let Some(d) = nvml {
        match d.discover() {
            Ok(gpus) if !gpus.is_empty() => {
                tracing::info!(node, count = gpus.len(), "GPUs discovered through NVML");
                return (gpus, GpuSource::Nvml);
            }
            Ok(_) => tracing::info!(node, "NVML found no GPUs; trying gres.conf"),
            Err(e) => tracing::info!(node, error = %e, "NVML unavailable; trying gres.conf"),
        }
    }
    if let Some(d) = gres {
        match d.discover() {
            Ok(gpus) if !gpus.is_empty() => {
                tracing::info!(node, count = gpus.len(), "GPUs taken from gres.conf");
                return (gpus, GpuSource::GresConf);
            }
            Ok(_) => tracing::info!(node, "gres.conf lists no GPUs for this node"),
            Err(e) => tracing::warn!(node, error = %e, "gres.conf GPU entries unusable"),
        }
    }
    tracing::info!(node, "no GPUs on this node");
    (Vec::new(), GpuSource::None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slurm_core::config::parse_gres_conf;

    struct Fixed(Result<Vec<GpuDevice>, GpuError>);
    impl GpuDiscovery for Fixed {
        fn name(&self) -> &'static str {
            "fixed"
        }
        fn discover(&self) -> Result<Vec<GpuDevice>, GpuError> {
            self.0.clone()
        }
    }

    fn dev(index: u32) -> GpuDevice {
        GpuDevice {
            index,
            kind: None,
            uuid: None,
            device_file: None,
            memory_mib: None,
        }
    }

    #[test]
    fn gres_conf_files_give_indices() {
        let conf = parse_gres_conf(
            "NodeName=gpu[01-02] Name=gpu Type=a100 File=/dev/nvidia[0-3]\n\
             NodeName=gpu03 Name=gpu File=/dev/nvidia7\n\
             NodeName=gpu[01-02] Name=mps Count=100\n",
            "gres.conf",
        )
        .unwrap();
        let d = GresConfDiscovery {
            conf: conf.clone(),
            node: "gpu02".into(),
        };
        let gpus = d.discover().unwrap();
        assert_eq!(
            gpus.iter().map(|g| g.index).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        assert_eq!(gpus[2].kind.as_deref(), Some("a100"));
        assert_eq!(
            gpus[3].device_file.as_deref(),
            Some(std::path::Path::new("/dev/nvidia3"))
        );
        let d3 = GresConfDiscovery {
            conf: conf.clone(),
            node: "gpu03".into(),
        };
        assert_eq!(d3.discover().unwrap()[0].index, 7);
        let none = GresConfDiscovery {
            conf,
            node: "cpu01".into(),
        };
        assert!(none.discover().unwrap().is_empty());
    }

    #[test]
    fn count_only_entries_and_bad_files() {
        let conf = parse_gres_conf("Name=gpu Count=2\n", "g").unwrap();
        let d = GresConfDiscovery {
            conf,
            node: "n".into(),
        };
        assert_eq!(d.discover().unwrap().len(), 2);
        let conf = parse_gres_conf("Name=gpu File=/dev/gpu\n", "g").unwrap();
        let d = GresConfDiscovery {
            conf,
            node: "n".into(),
        };
        assert!(matches!(d.discover(), Err(GpuError::GresConf(_))));
        assert_eq!(trailing_number("/dev/nvidia12"), Some(12));
        assert_eq!(trailing_number("/dev/nvidiactl"), None);
    }

    #[test]
    fn nvml_first_then_gres_conf_then_none() {
        let nvml_ok = Fixed(Ok(vec![dev(0), dev(1)]));
        let nvml_err = Fixed(Err(GpuError::Nvml("no library".into())));
        let nvml_empty = Fixed(Ok(vec![]));
        let gres = Fixed(Ok(vec![dev(5)]));
        let (g, src) = pick("n", Some(&nvml_ok), Some(&gres));
        assert_eq!((g.len(), src), (2, GpuSource::Nvml));
        let (g, src) = pick("n", Some(&nvml_err), Some(&gres));
        assert_eq!((g[0].index, src), (5, GpuSource::GresConf));
        let (_, src) = pick("n", Some(&nvml_empty), Some(&gres));
        assert_eq!(src, GpuSource::GresConf);
        let (g, src) = pick("n", Some(&nvml_err), None);
        assert_eq!((g.len(), src), (0, GpuSource::None));
        assert_eq!(NoGpus.discover().unwrap(), vec![]);
        assert_eq!(NoGpus.name(), "none");
    }

    #[test]
    fn discover_without_nvml_uses_gres_conf() {
        let conf = parse_gres_conf("Name=gpu File=/dev/nvidia[0-1]\n", "g").unwrap();
        let (gpus, src) = discover_gpus("n1", Some(&conf));
        // On a machine without NVML (or without the feature) gres.conf answers.
        if cfg!(not(feature = "nvml")) {
            assert_eq!(src, GpuSource::GresConf);
            assert_eq!(gpus.len(), 2);
        }
        let off = parse_gres_conf("AutoDetect=off\nName=gpu File=/dev/nvidia0\n", "g").unwrap();
        assert_eq!(discover_gpus("n1", Some(&off)).1, GpuSource::GresConf);
        if cfg!(not(feature = "nvml")) {
            assert_eq!(discover_gpus("n1", None).1, GpuSource::None);
        }
    }
}
