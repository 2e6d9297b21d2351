-- Accounts as a tree: every account but root has a parent.
CREATE TABLE accounts (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    parent VARCHAR(64) NOT NULL,
    description VARCHAR(255) NOT NULL,
    organization VARCHAR(255) NOT NULL
);

-- Users: default account and admin level (None, Operator, Administrator).
CREATE TABLE users (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    default_account VARCHAR(64) NOT NULL,
    admin_level VARCHAR(20) NOT NULL
);

-- Associations: (cluster, account, user, partition) with their limits. An account's own
-- association has user_name ''; partition_name '' means any partition. NULL: no limit.
-- TRES limits are Slurm's text (`cpu=4,gres/gpu=2`), max_wall is in minutes.
CREATE TABLE assocs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster VARCHAR(64) NOT NULL,
    account VARCHAR(64) NOT NULL,
    user_name VARCHAR(64) NOT NULL,
    partition_name VARCHAR(64) NOT NULL,
    shares BIGINT NOT NULL,
    grp_tres VARCHAR(1024) NOT NULL,
    grp_tres_run_mins VARCHAR(1024) NOT NULL,
    grp_jobs BIGINT NULL,
    grp_submit_jobs BIGINT NULL,
    max_jobs BIGINT NULL,
    max_submit_jobs BIGINT NULL,
    max_wall BIGINT NULL,
    max_tres_per_job VARCHAR(1024) NOT NULL,
    UNIQUE (cluster, account, user_name, partition_name)
);
CREATE INDEX assocs_user ON assocs (user_name);

INSERT INTO accounts (name, parent, description, organization)
    VALUES ('root', '', 'default root account', 'root');
INSERT INTO users (name, default_account, admin_level) VALUES ('root', 'root', 'Administrator');
