-- Clusters that have sent records.
CREATE TABLE clusters (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    created BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The last record applied from each controller spool: (cluster, epoch) -> sequence number.
-- A replayed record (seq <= last_seq) is skipped, so delivery may repeat without duplicates.
CREATE TABLE job_feeds (
    cluster VARCHAR(64) NOT NULL,
    epoch BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (cluster, epoch)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per job (and per split-off array task), as of its latest record.
CREATE TABLE jobs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    cluster VARCHAR(64) NOT NULL,
    job_id BIGINT NOT NULL,
    submit BIGINT NOT NULL,
    array_job_id BIGINT NULL,
    array_task_id BIGINT NULL,
    array_pending VARCHAR(1024) NULL,
    name VARCHAR(255) NOT NULL,
    user_name VARCHAR(64) NOT NULL,
    uid BIGINT NOT NULL,
    gid BIGINT NOT NULL,
    account VARCHAR(64) NOT NULL,
    partition_name VARCHAR(64) NOT NULL,
    qos VARCHAR(64) NOT NULL,
    state VARCHAR(20) NOT NULL,
    reason VARCHAR(64) NOT NULL,
    cancelled_by BIGINT NULL,
    exit_code BIGINT NOT NULL,
    exit_signal BIGINT NOT NULL,
    eligible BIGINT NULL,
    start_time BIGINT NULL,
    end_time BIGINT NULL,
    time_limit BIGINT NULL,
    nodelist VARCHAR(4096) NOT NULL,
    batch_host VARCHAR(255) NOT NULL,
    alloc_nodes BIGINT NOT NULL,
    alloc_cpus BIGINT NOT NULL,
    batch_cpus BIGINT NOT NULL,
    batch_tres VARCHAR(1024) NOT NULL,
    req_cpus BIGINT NOT NULL,
    req_nodes BIGINT NOT NULL,
    alloc_tres VARCHAR(1024) NOT NULL,
    req_tres VARCHAR(1024) NOT NULL,
    work_dir VARCHAR(1024) NOT NULL,
    priority BIGINT NOT NULL,
    restarts BIGINT NOT NULL,
    feed_epoch BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    UNIQUE (cluster, job_id, submit)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX jobs_submit ON jobs (cluster, submit);
CREATE INDEX jobs_end ON jobs (cluster, end_time);
CREATE INDEX jobs_uid ON jobs (uid, submit);
CREATE INDEX jobs_array ON jobs (cluster, array_job_id);

-- Job steps (`batch`, `0`, ...) with what they used.
CREATE TABLE steps (
    job_row BIGINT NOT NULL,
    step VARCHAR(32) NOT NULL,
    name VARCHAR(255) NOT NULL,
    state VARCHAR(20) NOT NULL,
    exit_code BIGINT NOT NULL,
    exit_signal BIGINT NOT NULL,
    start_time BIGINT NULL,
    end_time BIGINT NULL,
    nodelist VARCHAR(4096) NOT NULL,
    alloc_cpus BIGINT NOT NULL,
    alloc_tres VARCHAR(1024) NOT NULL,
    elapsed_s BIGINT NULL,
    cpu_time_ms BIGINT NULL,
    max_rss_kb BIGINT NULL,
    PRIMARY KEY (job_row, step)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
