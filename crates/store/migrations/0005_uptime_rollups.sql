-- Hourly and daily uptime per zone (venue figures are their sums), computed from the exact
-- health intervals by a periodic job, so long-range reports read a few rows per zone.
CREATE TABLE uptime_rollups (
    zone_id          uuid NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    venue_id         uuid NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
    period           varchar(4) NOT NULL CHECK (period IN ('hour', 'day')),
    starts_at        timestamptz NOT NULL,
    up_seconds       integer NOT NULL CHECK (up_seconds >= 0),
    down_seconds     integer NOT NULL CHECK (down_seconds >= 0),
    unknown_seconds  integer NOT NULL CHECK (unknown_seconds >= 0),
    excluded_seconds integer NOT NULL CHECK (excluded_seconds >= 0),
    PRIMARY KEY (zone_id, period, starts_at)
);
CREATE INDEX uptime_rollups_venue_id_idx ON uptime_rollups(venue_id, period, starts_at);

CREATE VIEW venue_uptime_rollups AS
    SELECT venue_id, period, starts_at, sum(up_seconds) AS up_seconds, sum(down_seconds) AS down_seconds,
           sum(unknown_seconds) AS unknown_seconds, sum(excluded_seconds) AS excluded_seconds, count(*) AS zones
    FROM uptime_rollups GROUP BY venue_id, period, starts_at;
