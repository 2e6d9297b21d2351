-- Usage rollups (sreport, sshare). Each run of a job (a requeued job runs again) is a row of
-- job_runs; the TRES-seconds of an ended run are split across the hours it ran and added to
-- usage_hour, usage_day and usage_month (UTC periods) of its association. A run's share is
-- computed from its row, so a record applied again changes nothing; running jobs are
-- counted when a report asks.
CREATE TABLE job_runs (
    job_row BIGINT NOT NULL,
    run BIGINT NOT NULL,
    cluster VARCHAR(64) NOT NULL,
    account VARCHAR(64) NOT NULL,
    user_name VARCHAR(64) NOT NULL,
    partition_name VARCHAR(64) NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT NULL,
    time_limit BIGINT NULL,
    alloc_tres VARCHAR(1024) NOT NULL,
    PRIMARY KEY (job_row, run)
);
CREATE INDEX job_runs_start ON job_runs (cluster, start_time);
CREATE INDEX job_runs_end ON job_runs (end_time);

-- TRES-seconds per period (the period's first second) and association; tres is `cpu`,
-- `mem` (MB-seconds), `node`, `billing`, `gres/gpu`, ...
CREATE TABLE usage_hour (
    cluster VARCHAR(64) NOT NULL,
    period BIGINT NOT NULL,
    account VARCHAR(64) NOT NULL,
    user_name VARCHAR(64) NOT NULL,
    partition_name VARCHAR(64) NOT NULL,
    tres VARCHAR(64) NOT NULL,
    seconds BIGINT NOT NULL,
    PRIMARY KEY (cluster, period, account, user_name, partition_name, tres)
);
CREATE TABLE usage_day (
    cluster VARCHAR(64) NOT NULL,
    period BIGINT NOT NULL,
    account VARCHAR(64) NOT NULL,
    user_name VARCHAR(64) NOT NULL,
    partition_name VARCHAR(64) NOT NULL,
    tres VARCHAR(64) NOT NULL,
    seconds BIGINT NOT NULL,
    PRIMARY KEY (cluster, period, account, user_name, partition_name, tres)
);
CREATE TABLE usage_month (
    cluster VARCHAR(64) NOT NULL,
    period BIGINT NOT NULL,
    account VARCHAR(64) NOT NULL,
    user_name VARCHAR(64) NOT NULL,
    partition_name VARCHAR(64) NOT NULL,
    tres VARCHAR(64) NOT NULL,
    seconds BIGINT NOT NULL,
    PRIMARY KEY (cluster, period, account, user_name, partition_name, tres)
);

-- A cluster's TRES totals from `since` on (sreport's Reported time).
CREATE TABLE cluster_tres (
    cluster VARCHAR(64) NOT NULL,
    since BIGINT NOT NULL,
    tres VARCHAR(1024) NOT NULL,
    PRIMARY KEY (cluster, since)
);

-- Flags of the usage tables; `rebuild` = 1: recompute the rollups from job_runs at start.
CREATE TABLE usage_state (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL
);

-- The runs of the jobs recorded so far; their rollups are computed when the dbd starts.
INSERT INTO job_runs (job_row, run, cluster, account, user_name, partition_name,
    start_time, end_time, time_limit, alloc_tres)
    SELECT id, restarts, cluster, account, user_name, partition_name, start_time,
        CASE WHEN state IN ('PENDING', 'RUNNING', 'SUSPENDED', 'COMPLETING') THEN NULL
            ELSE end_time END,
        time_limit, alloc_tres
    FROM jobs WHERE start_time IS NOT NULL;
INSERT INTO usage_state (name, value) VALUES ('rebuild', 1);
