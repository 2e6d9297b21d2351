//! priority/multifactor: normalised factors in [0, 1] times configured weights.

use crate::config::PriorityParams;
use crate::model::Timestamp;

/// Priority `priority/basic` gives the first job; each later job gets one less.
pub const BASIC_TOP: u32 = 0xFFFF_0000;

/// The normalised factors of one job (what `sprio` shows, before weighting).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Factors {
    pub age: f64,
    pub fairshare: f64,
    pub job_size: f64,
    pub partition: f64,
    pub qos: f64,
    pub nice: i32,
}

/// Cluster-wide numbers the factors are normalised against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Norms {
    pub total_cpus: u64,
    pub max_partition_factor: u16,
    pub max_qos_priority: u32,
}

/// Inputs for one job's factors.
#[derive(Debug, Clone, Copy)]
pub struct JobFacts {
    pub eligible_since: Option<Timestamp>,
    pub cpus: u64,
    pub partition_factor: u16,
    pub qos_priority: u32,
    pub fairshare: f64,
    pub nice: i32,
}

pub fn factors(params: &PriorityParams, norms: &Norms, job: &JobFacts, now: Timestamp) -> Factors {
    let age = match (job.eligible_since, params.max_age_s) {
        (Some(since), max) if max > 0 => ((now - since).max(0) as f64 / max as f64).min(1.0),
        _ => 0.0,
    };
    let size = if norms.total_cpus == 0 {
        0.0
    } else {
        (job.cpus as f64 / norms.total_cpus as f64).min(1.0)
    };
    Factors {
        age,
        fairshare: job.fairshare.clamp(0.0, 1.0),
        job_size: if params.favor_small { 1.0 - size } else { size },
        partition: ratio(
            f64::from(job.partition_factor),
            f64::from(norms.max_partition_factor),
        ),
        qos: ratio(
            f64::from(job.qos_priority),
            f64::from(norms.max_qos_priority),
        ),
        nice: job.nice,
    }
}

fn ratio(value: f64, max: f64) -> f64 {
    if max <= 0.0 {
        0.0
    } else {
        (value / max).min(1.0)
    }
}

/// The job priority: weighted sum of factors minus nice, clamped to `[1, u32::MAX]`.
pub fn weigh(params: &PriorityParams, f: &Factors) -> u32 {
    let sum = f64::from(params.weight_age) * f.age
        + f64::from(params.weight_fairshare) * f.fairshare
        + f64::from(params.weight_job_size) * f.job_size
        + f64::from(params.weight_partition) * f.partition
        + f64::from(params.weight_qos) * f.qos;
    let value = sum.round() as i64 - i64::from(f.nice);
    value.clamp(1, i64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> PriorityParams {
        PriorityParams {
            multifactor: true,
            weight_age: 1000,
            weight_fairshare: 10_000,
            weight_job_size: 100,
            weight_partition: 1000,
            weight_qos: 0,
            max_age_s: 1000,
            ..PriorityParams::default()
        }
    }

    #[test]
    fn factors_are_normalised_and_weighted() {
        let norms = Norms {
            total_cpus: 100,
            max_partition_factor: 2,
            max_qos_priority: 0,
        };
        let job = JobFacts {
            eligible_since: Some(0),
            cpus: 50,
            partition_factor: 1,
            qos_priority: 0,
            fairshare: 0.5,
            nice: 10,
        };
        let f = factors(&params(), &norms, &job, 2000);
        assert_eq!(f.age, 1.0, "age saturates at PriorityMaxAge");
        assert_eq!(f.job_size, 0.5);
        assert_eq!(f.partition, 0.5);
        assert_eq!(weigh(&params(), &f), 1000 + 5000 + 50 + 500 - 10);
    }
}
