//! The `slinky conf check` report: the cluster as slinky understood it (a migration aid),
//! then the warnings.
//!
//! Settings are shown with their effective values (defaults included) in slurm.conf
//! spelling, so the report can be compared line by line with the original file.

use super::gres_conf::GresConf;
use super::slurm_conf::{
    ConfigWarning, accounting_settings, controller_host_str, hostlist_of, node_attrs,
    partition_attrs, power_settings, priority_settings, same_hardware, scheduler_settings,
    select_settings, timer_settings,
};
use super::{ClusterConfig, SelectParams};
use crate::model::NodeConfig;

/// Lines longer than this are wrapped between `Key=Value` items.
const WIDTH: usize = 100;

/// Renders the report for a loaded cluster, its gres.conf (if any) and the warnings.
pub fn render_report(
    cluster: &ClusterConfig,
    gres_conf: Option<&GresConf>,
    warnings: &[ConfigWarning],
) -> String {
    let sections = [
        cluster_section(cluster),
        nodes_section(&cluster.nodes),
        partitions_section(cluster),
        gres_section(gres_conf),
        settings_section(cluster),
        warnings_section(warnings),
    ];
    let sections: Vec<String> = sections.into_iter().filter(|s| !s.is_empty()).collect();
    sections.join("\n")
}

fn cluster_section(cluster: &ClusterConfig) -> String {
    let hosts: Vec<String> = cluster
        .controller_hosts
        .iter()
        .map(controller_host_str)
        .collect();
    let hosts = if hosts.is_empty() {
        "(none)".to_owned()
    } else {
        hosts.join(",")
    };
    let gres_types = if cluster.gres_types.is_empty() {
        "(none)".to_owned()
    } else {
        cluster.gres_types.join(",")
    };
    let items = pairs(&[
        ("SlurmctldHost", hosts),
        ("SlurmctldPort", cluster.controller_port.to_string()),
        ("SlurmdPort", cluster.slurmd_port.to_string()),
        ("SlurmUser", cluster.slurm_user.clone()),
        ("StateSaveLocation", cluster.state_save_location.clone()),
        ("AuthType", cluster.auth_type.clone()),
        (
            "AuthInfo",
            cluster.auth_info.clone().unwrap_or_else(|| "(none)".into()),
        ),
        ("TLSType", cluster.tls_type.clone()),
        (
            "TLSParameters",
            cluster
                .tls_parameters
                .clone()
                .unwrap_or_else(|| "(none)".into()),
        ),
        ("GresTypes", gres_types),
    ]);
    format!("Cluster {}\n{}", cluster.cluster_name, wrap(&items, "  "))
}

/// Nodes grouped by identical hardware (in first-seen order), names as hostlists.
fn nodes_section(nodes: &[NodeConfig]) -> String {
    let mut groups: Vec<(&NodeConfig, Vec<String>)> = Vec::new();
    for node in nodes {
        match groups
            .iter_mut()
            .find(|(first, _)| same_hardware(first, node))
        {
            Some((_, names)) => names.push(node.name.clone()),
            None => groups.push((node, vec![node.name.clone()])),
        }
    }
    let mut out = format!(
        "Nodes: {} in {} hardware group{}\n",
        nodes.len(),
        groups.len(),
        plural(groups.len())
    );
    for (node, names) in &groups {
        out.push_str(&format!(
            "  NodeName={} ({} node{})\n",
            hostlist_of(names),
            names.len(),
            plural(names.len())
        ));
        out.push_str(&wrap(&pairs(&node_attrs(node)), "    "));
    }
    out
}

fn partitions_section(cluster: &ClusterConfig) -> String {
    let default = cluster
        .partitions
        .iter()
        .find(|p| p.default)
        .map_or_else(|| "none".to_owned(), |p| p.name.clone());
    let mut out = format!(
        "Partitions: {} (default: {default})\n",
        cluster.partitions.len()
    );
    for part in &cluster.partitions {
        out.push_str(&format!(
            "  PartitionName={} ({} node{}{})\n",
            part.name,
            part.nodes.len(),
            plural(part.nodes.len()),
            if part.default { ", default" } else { "" }
        ));
        let mut attrs = partition_attrs(part);
        if part.default_time.is_none() {
            attrs.push(("DefaultTime", "(MaxTime)".into()));
        }
        if part.def_mem_per_cpu_mb.is_none() {
            attrs.push(("DefMemPerCPU", "UNLIMITED".into()));
        }
        out.push_str(&wrap(&pairs(&attrs), "    "));
    }
    out
}

fn gres_section(gres_conf: Option<&GresConf>) -> String {
    let Some(gres) = gres_conf else {
        return String::new();
    };
    let detect = gres.auto_detect.map_or("(unset)", |d| d.as_str());
    let mut out = format!(
        "gres.conf {}: {} entr{}, AutoDetect={detect}\n",
        gres.origin,
        gres.entries.len(),
        if gres.entries.len() == 1 { "y" } else { "ies" }
    );
    for detect in &gres.node_auto_detect {
        out.push_str(&format!(
            "  NodeName={} AutoDetect={}\n",
            hostlist_of(&detect.nodes),
            detect.mode
        ));
    }
    for entry in &gres.entries {
        let mut items = Vec::new();
        let nodes = entry
            .nodes
            .as_deref()
            .map_or_else(|| "(nodes with this GRES)".to_owned(), hostlist_of);
        items.push(format!("NodeName={nodes}"));
        items.push(format!("Name={}", entry.name));
        if let Some(kind) = &entry.kind {
            items.push(format!("Type={kind}"));
        }
        items.push(format!("Count={}", entry.device_count()));
        if !entry.files.is_empty() {
            items.push(format!("File={}", hostlist_of(&entry.files)));
        }
        if let Some(detect) = entry.auto_detect {
            items.push(format!("AutoDetect={detect}"));
        }
        out.push_str(&wrap(&items, "  "));
    }
    out
}

fn settings_section(cluster: &ClusterConfig) -> String {
    let groups = [
        ("Scheduling", scheduling_items(cluster)),
        ("Priority", pairs(&priority_settings(&cluster.priority))),
        (
            "Accounting",
            pairs(&accounting_settings(&cluster.accounting)),
        ),
        ("Timers (seconds)", pairs(&timer_settings(&cluster.timers))),
        (
            "Power saving (seconds)",
            pairs(&power_settings(&cluster.power)),
        ),
    ];
    let mut out = String::new();
    for (title, items) in groups {
        out.push_str(title);
        out.push('\n');
        out.push_str(&wrap(&items, "  "));
    }
    out
}

fn scheduling_items(cluster: &ClusterConfig) -> Vec<String> {
    let mut items = pairs(&select_settings(&cluster.select));
    items.push(format!("({})", allocation(&cluster.select)));
    let mut scheduler = pairs(&scheduler_settings(&cluster.scheduler)).into_iter();
    items.extend(scheduler.next());
    items.push(format!("(policy: {})", cluster.scheduler.policy));
    items.extend(scheduler);
    items
}

/// What the select settings mean to slinky.
fn allocation(select: &SelectParams) -> &'static str {
    match (select.whole_nodes, select.track_memory) {
        (false, true) => "allocates CPUs and memory",
        (false, false) => "allocates CPUs, memory not tracked",
        (true, true) => "allocates whole nodes, memory tracked",
        (true, false) => "allocates whole nodes, memory not tracked",
    }
}

fn warnings_section(warnings: &[ConfigWarning]) -> String {
    if warnings.is_empty() {
        return "No warnings.\n".to_owned();
    }
    let mut out = format!("{} warning{}:\n", warnings.len(), plural(warnings.len()));
    for warning in warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out
}

fn pairs(items: &[(&str, String)]) -> Vec<String> {
    items
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect()
}

/// Joins items with spaces into indented lines of at most [`WIDTH`] characters (an item
/// longer than that gets a line of its own).
fn wrap(items: &[String], indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && indent.len() + line.len() + 1 + item.len() > WIDTH {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(item);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{gres_conf::parse_gres_conf, parse_slurm_conf};

    const SEED_GPU: &str = include_str!("../../../examples/configs/seed-gpu.slurm.conf");
    const SEED_GRES: &str = include_str!("../../../examples/configs/seed-gres.conf");

    #[test]
    fn reports_the_seed_gpu_cluster() {
        let gres = parse_gres_conf(SEED_GRES, "gres.conf").unwrap();
        let loaded = parse_slurm_conf(SEED_GPU, "slurm.conf")
            .unwrap()
            .with_gres_conf(gres);
        let report = render_report(&loaded.cluster, loaded.gres_conf.as_ref(), &loaded.warnings);
        let expected_lines = [
            "Cluster hpc-demo-cluster",
            "  SlurmctldHost=slurm-demo.hpc-node-login SlurmctldPort=6817 SlurmdPort=6818 \
             SlurmUser=slurm",
            "Nodes: 3 in 2 hardware groups",
            "  NodeName=slurm-demo.hpc-node-login (1 node)",
            "    CPUs=4 Sockets=1 CoresPerSocket=2 ThreadsPerCore=2 RealMemory=15990 Weight=1 \
             State=UNKNOWN",
            "  NodeName=slurm-demo.hpc-node-compute[01-02] (2 nodes)",
            "Partitions: 2 (default: gpu)",
            "  PartitionName=cpu (1 node)",
            "  PartitionName=gpu (2 nodes, default)",
            "    Nodes=slurm-demo.hpc-node-compute[01-02] Default=YES State=UP MaxTime=UNLIMITED",
            "gres.conf gres.conf: 2 entries, AutoDetect=(unset)",
            "  NodeName=(nodes with this GRES) Name=gpu Type=tesla Count=1 File=/dev/nvidia0",
            "  SelectType=select/cons_tres SelectTypeParameters=CR_CPU_Memory (allocates CPUs \
             and memory)",
            "  SchedulerType=sched/backfill (policy: backfill)",
            "  PriorityType=priority/basic PriorityWeightAge=0 PriorityWeightFairshare=0 \
             PriorityWeightJobSize=0",
            "  SuspendTime=INFINITE ResumeTimeout=60 SuspendTimeout=30",
            "15 warnings:",
            "warning: slurm.conf:33: ProctrackType is not used by slinky (ignored)",
            "warning: slurm.conf:129: SlurmdLogFile is not used by slinky (ignored)",
        ];
        let lines: Vec<&str> = report.lines().collect();
        for expected in expected_lines {
            assert!(
                lines.contains(&expected),
                "missing {expected:?} in\n{report}"
            );
        }
        assert!(report.contains("Gres=gpu:tesla:2"), "{report}");
    }

    #[test]
    fn groups_identical_nodes_wherever_they_are() {
        let text = "ClusterName=c\nSlurmctldHost=h\nNodeName=a[1-2] CPUs=4\nNodeName=b1 CPUs=8\n\
                    NodeName=a3 CPUs=4\n";
        let loaded = parse_slurm_conf(text, "t").unwrap();
        let report = render_report(&loaded.cluster, None, &loaded.warnings);
        assert!(report.contains("Nodes: 4 in 2 hardware groups\n  NodeName=a[1-3] (3 nodes)\n"));
        assert!(report.contains("Partitions: 0 (default: none)\n"));
        assert!(report.ends_with(
            "1 warning:\nwarning: t: no PartitionName= lines: jobs cannot be submitted until a \
             partition is defined\n"
        ));
    }

    #[test]
    fn no_warnings_is_said() {
        let text = "ClusterName=c\nSlurmctldHost=h\nNodeName=n1\nPartitionName=p Nodes=n1\n";
        let loaded = parse_slurm_conf(text, "t").unwrap();
        let report = render_report(&loaded.cluster, None, &loaded.warnings);
        assert!(report.ends_with("\nNo warnings.\n"), "{report}");
    }

    #[test]
    fn wrap_breaks_between_items() {
        let items: Vec<String> = (0..30).map(|i| format!("Key{i}=value")).collect();
        let wrapped = wrap(&items, "  ");
        assert!(
            wrapped
                .lines()
                .all(|l| l.len() <= WIDTH && l.starts_with("  Key"))
        );
        assert_eq!(wrapped.split_whitespace().count(), 30);
        assert_eq!(wrap(&[], "  "), "");
        let long = vec!["x".repeat(150), "y".into()];
        assert_eq!(wrap(&long, ""), format!("{}\ny\n", "x".repeat(150)));
    }
}
