-- Each zone's health at the end of its hourly or daily rollup, so that the health at an instant
-- is the latest rollup's plus at most a day of status log, instead of the last change found by
-- searching every partition of the log before it. Null in rollups written before this column
-- (and in seeded history); a stretch that cannot start from one reads the log as before.
ALTER TABLE uptime_rollups ADD COLUMN ends_health varchar(7) CHECK (ends_health IN ('up', 'down', 'unknown'));
