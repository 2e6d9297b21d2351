//! The batch step of a launched job: [`LaunchBatch`] → [`StepSpec`].

use slurm_core::config::Timers;
use slurm_core::proto::LaunchBatch;

use crate::step::{ArrayInfo, StepSpec};

/// The interpreter of a script without `#!`, as `sbatch --wrap` and slurmd use.
const DEFAULT_SHELL: &str = "/bin/sh";

/// The batch step of `launch` on node `node` with GPU indices `gpus`.
///
/// On top of [`StepSpec::batch_for_job`]: a script without a `#!` line runs with
/// `/bin/sh`; array tasks get the array's task count, min, max and step from the job's
/// array spec; `SLURM_SUBMIT_HOST` comes from the submitter's `HOSTNAME` when it was
/// exported.
pub fn batch_step(launch: &LaunchBatch, node: &str, gpus: Vec<u32>, timers: &Timers) -> StepSpec {
    let job = &launch.job;
    let script = with_shebang(&launch.batch.script);
    let mut spec = StepSpec::batch_for_job(
        job,
        node,
        script,
        launch.batch.environment.clone(),
        gpus,
        timers,
    );
    if let (Some(info), Some(array)) = (spec.array.as_mut(), job.spec.array.as_ref()) {
        fill_array(info, &array.indices);
    }
    if let Some((_, host)) = launch
        .batch
        .environment
        .iter()
        .find(|(k, _)| k == "HOSTNAME")
    {
        spec.submit_host.clone_from(host);
    }
    spec
}

/// `script`, with `#!/bin/sh` in front when it does not name an interpreter (the kernel
/// would refuse to execute it).
pub fn with_shebang(script: &str) -> String {
    if script.starts_with("#!") {
        script.to_owned()
    } else {
        format!("#!{DEFAULT_SHELL}\n{script}")
    }
}

/// Task count, min, max and step of the array whose indices are `indices`.
fn fill_array(info: &mut ArrayInfo, indices: &[u32]) {
    let (Some(&min), Some(&max)) = (indices.iter().min(), indices.iter().max()) else {
        return;
    };
    info.task_count = indices.len() as u32;
    info.task_min = min;
    info.task_max = max;
    let stride = match indices {
        [a, b, ..] => b.checked_sub(*a),
        _ => Some(1),
    };
    info.task_step = stride.filter(|&s| {
        s > 0
            && indices
                .windows(2)
                .all(|w| w[1].checked_sub(w[0]) == Some(s))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang() {
        assert_eq!(with_shebang("#!/bin/bash\necho"), "#!/bin/bash\necho");
        assert_eq!(with_shebang("echo hi\n"), "#!/bin/sh\necho hi\n");
    }

    #[test]
    fn array_ranges() {
        let mut info = ArrayInfo {
            array_job_id: 10,
            task_id: 4,
            task_count: 1,
            task_min: 4,
            task_max: 4,
            task_step: None,
        };
        fill_array(&mut info, &[0, 2, 4, 6]);
        assert_eq!(
            (
                info.task_count,
                info.task_min,
                info.task_max,
                info.task_step
            ),
            (4, 0, 6, Some(2))
        );
        fill_array(&mut info, &[1, 2, 7]);
        assert_eq!(
            (
                info.task_count,
                info.task_min,
                info.task_max,
                info.task_step
            ),
            (3, 1, 7, None)
        );
        fill_array(&mut info, &[4]);
        assert_eq!((info.task_count, info.task_step), (1, Some(1)));
    }
}
