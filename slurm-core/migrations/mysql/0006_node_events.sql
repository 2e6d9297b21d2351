-- Node events (sacctmgr show event; sreport's Down time). A node DOWN or DRAINED is one row
-- from the controller's record of the change (time_start) until the node is back
-- (time_end; NULL while it lasts): the state as sacctmgr prints it (DOWN, DOWN*, DRAIN,
-- DRNG), the reason, who set it, and the node's TRES (what the event takes away from the
-- cluster's capacity). Events of one node may start in the same second (a drain undone at
-- once, then a DOWN): each is its own row.
CREATE TABLE node_events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    cluster VARCHAR(64) NOT NULL,
    node_name VARCHAR(64) NOT NULL,
    time_start BIGINT NOT NULL,
    time_end BIGINT NULL,
    state VARCHAR(64) NOT NULL,
    reason VARCHAR(1024) NOT NULL,
    reason_uid BIGINT NOT NULL,
    user_name VARCHAR(64) NOT NULL,
    tres VARCHAR(1024) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX node_events_node ON node_events (cluster, node_name, time_start);
CREATE INDEX node_events_start ON node_events (cluster, time_start);
CREATE INDEX node_events_end ON node_events (cluster, time_end);
