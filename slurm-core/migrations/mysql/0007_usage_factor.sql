-- QOS UsageFactor: each run keeps the UsageFactor of its QOS when it was recorded (in
-- millionths, as qos.usage_factor), and the rollups keep, beside the TRES-seconds sreport
-- reports, those seconds multiplied by that factor (`factored`): fairshare's usage (sshare's
-- RawUsage, the controller's priority). Earlier runs count with a factor of 1.
ALTER TABLE job_runs ADD COLUMN usage_factor BIGINT NOT NULL DEFAULT 1000000;
ALTER TABLE usage_hour ADD COLUMN factored BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_day ADD COLUMN factored BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_month ADD COLUMN factored BIGINT NOT NULL DEFAULT 0;
UPDATE usage_hour SET factored = seconds;
UPDATE usage_day SET factored = seconds;
UPDATE usage_month SET factored = seconds;
