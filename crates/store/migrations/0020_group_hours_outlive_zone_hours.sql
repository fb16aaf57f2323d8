-- The fleet's, brands' and countries' hourly uptime outlives the zones' own hourly rollups: a
-- report over a period that does not start on a UTC midnight (a day in Bangkok, a month in
-- Manila) reads whole hours from the groups instead of recomputing the status log, for as long
-- as the groups' hours are kept (UPTIME_GROUP_HOURLY_RETENTION_DAYS), while the zones' hours
-- (one row per zone and hour) go after UPTIME_HOURLY_RETENTION_DAYS. Retention deletes zone
-- rows with `bma.rollup_retention` set for its transaction, and the groups then keep their sums;
-- any other delete (a zone or venue deleted) still takes its share out of every group.
CREATE OR REPLACE FUNCTION uptime_groups_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cols constant text := 'venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, excluded_seconds';
    changes text := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT 1 AS sign, %s FROM new_rows', cols)
        WHEN 'UPDATE' THEN format('SELECT 1 AS sign, %s FROM new_rows UNION ALL SELECT -1, %s FROM old_rows', cols, cols)
        ELSE format('SELECT -1 AS sign, %s FROM old_rows', cols)
    END;
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('bma.rollup_retention', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    EXECUTE format($q$
        INSERT INTO uptime_group_rollups AS g
            (scope, key, period, starts_at, zones, up_seconds, down_seconds, unknown_seconds, excluded_seconds)
        SELECT s.scope, s.key, c.period, c.starts_at, sum(c.sign), sum(c.sign * c.up_seconds),
               sum(c.sign * c.down_seconds), sum(c.sign * c.unknown_seconds), sum(c.sign * c.excluded_seconds)
        FROM (%s) c
        LEFT JOIN venues v ON v.id = c.venue_id
        CROSS JOIN LATERAL (VALUES ('fleet', ''), ('brand', coalesce(v.brand, '')),
                                   ('country', coalesce(v.country, ''))) AS s(scope, key)
        GROUP BY s.scope, s.key, c.period, c.starts_at
        ON CONFLICT (scope, period, starts_at, key) DO UPDATE SET
            zones = g.zones + EXCLUDED.zones,
            up_seconds = g.up_seconds + EXCLUDED.up_seconds,
            down_seconds = g.down_seconds + EXCLUDED.down_seconds,
            unknown_seconds = g.unknown_seconds + EXCLUDED.unknown_seconds,
            excluded_seconds = g.excluded_seconds + EXCLUDED.excluded_seconds
    $q$, changes);
    RETURN NULL;
END $$;
