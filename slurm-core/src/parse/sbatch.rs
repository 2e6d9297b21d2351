//! sbatch options and `#SBATCH` directives.
//!
//! TODO(helper): implement.
