-- Quality of service: priority, preemption and limits (sacctmgr add/modify/delete/show qos).
-- usage_factor is in millionths (1.0 = 1000000); grace_time in seconds, max_wall in
-- minutes; NULL or '' means no limit; preempt is a comma-separated list of QOS names.
CREATE TABLE qos (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    description VARCHAR(255) NOT NULL,
    priority BIGINT NOT NULL,
    flags VARCHAR(255) NOT NULL,
    grace_time BIGINT NOT NULL,
    preempt_mode VARCHAR(32) NOT NULL,
    preempt VARCHAR(1024) NOT NULL,
    usage_factor BIGINT NOT NULL,
    max_tres_per_job VARCHAR(1024) NOT NULL,
    max_tres_per_user VARCHAR(1024) NOT NULL,
    max_wall BIGINT NULL,
    max_jobs_per_user BIGINT NULL,
    max_submit_jobs_per_user BIGINT NULL,
    grp_tres VARCHAR(1024) NOT NULL,
    grp_jobs BIGINT NULL,
    UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An association's QOS list ('' inherits its parent's) and default QOS ('' none).
ALTER TABLE assocs ADD COLUMN qos VARCHAR(1024) NOT NULL DEFAULT '';
ALTER TABLE assocs ADD COLUMN default_qos VARCHAR(64) NOT NULL DEFAULT '';

-- Slurm's default QOS; every cluster's root association allows it.
INSERT INTO qos (name, description, priority, flags, grace_time, preempt_mode, preempt,
    usage_factor, max_tres_per_job, max_tres_per_user, max_wall, max_jobs_per_user,
    max_submit_jobs_per_user, grp_tres, grp_jobs)
    VALUES ('normal', 'Normal QOS default', 0, '', 0, 'cluster', '', 1000000, '', '', NULL,
        NULL, NULL, '', NULL);
UPDATE assocs SET qos = 'normal' WHERE account = 'root' AND user_name = '';
