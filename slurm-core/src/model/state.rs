//! Job states and pending reasons, named and printed exactly as Slurm does.

use std::fmt;
use std::str::FromStr;

macro_rules! slurm_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text Slurm prints.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            /// Case-insensitive, as Slurm's commands accept state names.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| UnknownName { what: stringify!($name), name: s.to_owned() })
            }
        }
    };
}

/// A name that is not one of an enum's Slurm spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} \"{name}\"")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
}

slurm_enum! {
    /// A job's state (`squeue -t`, `sacct -s`, `scontrol show job` JobState=).
    pub enum JobState {
        Pending => "PENDING",
        Running => "RUNNING",
        Suspended => "SUSPENDED",
        Completing => "COMPLETING",
        Completed => "COMPLETED",
        Cancelled => "CANCELLED",
        Failed => "FAILED",
        Timeout => "TIMEOUT",
        NodeFail => "NODE_FAIL",
        Preempted => "PREEMPTED",
        BootFail => "BOOT_FAIL",
        Deadline => "DEADLINE",
        OutOfMemory => "OUT_OF_MEMORY",
        Requeued => "REQUEUED",
    }
}

impl JobState {
    /// The two-letter code squeue's `%t` prints.
    pub fn short(self) -> &'static str {
        match self {
            Self::Pending => "PD",
            Self::Running => "R",
            Self::Suspended => "S",
            Self::Completing => "CG",
            Self::Completed => "CD",
            Self::Cancelled => "CA",
            Self::Failed => "F",
            Self::Timeout => "TO",
            Self::NodeFail => "NF",
            Self::Preempted => "PR",
            Self::BootFail => "BF",
            Self::Deadline => "DL",
            Self::OutOfMemory => "OOM",
            Self::Requeued => "RQ",
        }
    }

    /// Parses either the long name or the short code (`PD`, `R`, `CA`...), case-insensitively.
    pub fn parse_any(s: &str) -> Result<Self, UnknownName> {
        s.parse().or_else(|e| {
            Self::ALL
                .iter()
                .copied()
                .find(|v| v.short().eq_ignore_ascii_case(s))
                .ok_or(e)
        })
    }

    /// True once the job can never run again without a requeue.
    pub fn is_finished(self) -> bool {
        !matches!(
            self,
            Self::Pending | Self::Running | Self::Suspended | Self::Completing
        )
    }
}

slurm_enum! {
    /// Why a pending job is not running (squeue's `%R` for pending jobs, `Reason=`).
    pub enum PendingReason {
        None => "None",
        Priority => "Priority",
        Resources => "Resources",
        Dependency => "Dependency",
        DependencyNeverSatisfied => "DependencyNeverSatisfied",
        JobHeldUser => "JobHeldUser",
        JobHeldAdmin => "JobHeldAdmin",
        BeginTime => "BeginTime",
        PartitionTimeLimit => "PartitionTimeLimit",
        PartitionNodeLimit => "PartitionNodeLimit",
        PartitionDown => "PartitionDown",
        PartitionInactive => "PartitionInactive",
        ReqNodeNotAvail => "ReqNodeNotAvail",
        NodeDown => "NodeDown",
        BadConstraints => "BadConstraints",
        JobArrayTaskLimit => "JobArrayTaskLimit",
        AssocGrpGRES => "AssocGrpGRES",
        AssocGrpCpuLimit => "AssocGrpCpuLimit",
        AssocGrpMemLimit => "AssocGrpMemLimit",
        AssocGrpNodeLimit => "AssocGrpNodeLimit",
        AssocGrpJobsLimit => "AssocGrpJobsLimit",
        AssocGrpCPURunMinutesLimit => "AssocGrpCPURunMinutesLimit",
        AssocMaxJobsLimit => "AssocMaxJobsLimit",
        AssocMaxWallDurationPerJobLimit => "AssocMaxWallDurationPerJobLimit",
        AssocGrpBilling => "AssocGrpBilling",
        AssocGrpGRESRunMinutes => "AssocGrpGRESRunMinutes",
        AssocGrpMemRunMinutes => "AssocGrpMemRunMinutes",
        AssocGrpNodeRunMinutes => "AssocGrpNodeRunMinutes",
        AssocGrpBillingRunMinutes => "AssocGrpBillingRunMinutes",
        AssocMaxCpuPerJobLimit => "AssocMaxCpuPerJobLimit",
        AssocMaxMemPerJob => "AssocMaxMemPerJob",
        AssocMaxNodePerJobLimit => "AssocMaxNodePerJobLimit",
        AssocMaxBillingPerJob => "AssocMaxBillingPerJob",
        AssocMaxGRESPerJob => "AssocMaxGRESPerJob",
        QOSMaxWallDurationPerJobLimit => "QOSMaxWallDurationPerJobLimit",
        QOSMaxGRESPerUser => "QOSMaxGRESPerUser",
        QOSMaxJobsPerUserLimit => "QOSMaxJobsPerUserLimit",
        QOSGrpGRES => "QOSGrpGRES",
        QOSGrpCpuLimit => "QOSGrpCpuLimit",
        QOSGrpMemLimit => "QOSGrpMemLimit",
        QOSGrpNodeLimit => "QOSGrpNodeLimit",
        QOSGrpJobsLimit => "QOSGrpJobsLimit",
        QOSMaxCpuPerUserLimit => "QOSMaxCpuPerUserLimit",
        QOSMaxMemPerUser => "QOSMaxMemPerUser",
        QOSMaxNodePerUserLimit => "QOSMaxNodePerUserLimit",
        QOSMaxCpuPerJobLimit => "QOSMaxCpuPerJobLimit",
        QOSMaxMemPerJob => "QOSMaxMemPerJob",
        QOSMaxNodePerJobLimit => "QOSMaxNodePerJobLimit",
        QOSMaxGRESPerJob => "QOSMaxGRESPerJob",
        BadQOS => "InvalidQOS",
        InvalidAccount => "InvalidAccount",
        Cleaning => "Cleaning",
        Prolog => "Prolog",
        Configuring => "Configuring",
    }
}

slurm_enum! {
    /// A partition's state (`State=` in slurm.conf, sinfo's AVAIL column in lowercase).
    pub enum PartitionState {
        Up => "UP",
        Down => "DOWN",
        Drain => "DRAIN",
        Inactive => "INACTIVE",
    }
}

slurm_enum! {
    /// A partition's `OverSubscribe=` setting.
    pub enum OverSubscribe {
        No => "NO",
        Exclusive => "EXCLUSIVE",
        Yes => "YES",
        Force => "FORCE",
    }
}
