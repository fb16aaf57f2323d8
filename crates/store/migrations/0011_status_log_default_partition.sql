-- A status log row whose day has no partition yet (upkeep paused, a clock skew, a late sample)
-- lands here instead of failing the monitor's tick; partition upkeep moves such rows into their
-- own day's partition.
CREATE TABLE music_status_logs_default PARTITION OF music_status_logs DEFAULT;
