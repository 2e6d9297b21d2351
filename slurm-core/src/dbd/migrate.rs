//! The schema's versioned migrations, embedded in the binary and applied through sqlx's
//! migrator (which records what ran, with checksums, in `_sqlx_migrations`).
//!
//! Each backend has its own folder under `slurm-core/migrations/` with the same versions and
//! the same tables; only the DDL dialect differs.

use super::store::Backend;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// What sqlx's `MigrationSource::resolve` returns.
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// (version, description, SQL) for SQLite.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "jobs",
        include_str!("../../migrations/sqlite/0001_jobs.sql"),
    ),
    (
        2,
        "associations",
        include_str!("../../migrations/sqlite/0002_associations.sql"),
    ),
    (
        3,
        "usage",
        include_str!("../../migrations/sqlite/0003_usage.sql"),
    ),
    (
        4,
        "qos",
        include_str!("../../migrations/sqlite/0004_qos.sql"),
    ),
    (
        5,
        "job records",
        include_str!("../../migrations/sqlite/0005_job_records.sql"),
    ),
    (
        6,
        "node events",
        include_str!("../../migrations/sqlite/0006_node_events.sql"),
    ),
    (
        7,
        "usage factor",
        include_str!("../../migrations/sqlite/0007_usage_factor.sql"),
    ),
];

/// (version, description, SQL) for MySQL / MariaDB.
const MYSQL: &[(i64, &str, &str)] = &[
    (
        1,
        "jobs",
        include_str!("../../migrations/mysql/0001_jobs.sql"),
    ),
    (
        2,
        "associations",
        include_str!("../../migrations/mysql/0002_associations.sql"),
    ),
    (
        3,
        "usage",
        include_str!("../../migrations/mysql/0003_usage.sql"),
    ),
    (
        4,
        "qos",
        include_str!("../../migrations/mysql/0004_qos.sql"),
    ),
    (
        5,
        "job records",
        include_str!("../../migrations/mysql/0005_job_records.sql"),
    ),
    (
        6,
        "node events",
        include_str!("../../migrations/mysql/0006_node_events.sql"),
    ),
    (
        7,
        "usage factor",
        include_str!("../../migrations/mysql/0007_usage_factor.sql"),
    ),
];

/// The migrations of one backend, as a sqlx migration source.
#[derive(Debug, Clone, Copy)]
pub struct Embedded(pub Backend);

impl Embedded {
    fn entries(self) -> &'static [(i64, &'static str, &'static str)] {
        match self.0 {
            Backend::Sqlite => SQLITE,
            Backend::MySql => MYSQL,
        }
    }

    /// The newest schema version.
    pub fn latest(self) -> i64 {
        self.entries().iter().map(|e| e.0).max().unwrap_or(0)
    }

    pub fn migrations(self) -> Vec<Migration> {
        self.entries()
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect()
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move { Ok(self.migrations()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions() {
        let versions = |b| {
            Embedded(b)
                .migrations()
                .iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(versions(Backend::Sqlite), versions(Backend::MySql));
        assert_eq!(Embedded(Backend::Sqlite).latest(), 7);
    }

    #[test]
    fn both_backends_define_the_same_columns() {
        // Same tables, column names and indexes in the same order: only types and table
        // options differ.
        let columns = |sql: &str| {
            sql.lines()
                .map(str::trim)
                .filter(|l| !l.starts_with("--") && !l.is_empty() && !l.starts_with(')'))
                .map(|l| {
                    let words: Vec<&str> = l.split_whitespace().collect();
                    match words.first() {
                        Some(&"CREATE") => words.join(" "),
                        Some(w) => (*w).to_owned(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
        };
        for (s, m) in SQLITE.iter().zip(MYSQL) {
            assert_eq!(columns(s.2), columns(m.2), "migration {}", s.0);
        }
    }
}
