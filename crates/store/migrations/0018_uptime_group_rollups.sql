-- Uptime per hour and day summed for the whole fleet, each brand and each country, so the
-- dashboard and long-range reports read a few rows instead of one per zone (a year at 50,000
-- zones is 18 million zone rows). Kept by statement triggers on uptime_rollups: every insert,
-- rewrite or delete of zone rollups adds its difference to the groups in the same transaction.
-- A zone counts in the brand and country its venue had when its rollup was written; `key` is ''
-- for the fleet and for venues without a brand or country.
CREATE TABLE uptime_group_rollups (
    scope            varchar(8) NOT NULL CHECK (scope IN ('fleet', 'brand', 'country')),
    key              text NOT NULL,
    period           varchar(4) NOT NULL CHECK (period IN ('hour', 'day')),
    starts_at        timestamptz NOT NULL,
    zones            integer NOT NULL,
    up_seconds       bigint NOT NULL,
    down_seconds     bigint NOT NULL,
    unknown_seconds  bigint NOT NULL,
    excluded_seconds bigint NOT NULL,
    PRIMARY KEY (scope, period, starts_at, key)
);

CREATE FUNCTION uptime_groups_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cols constant text := 'venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, excluded_seconds';
    changes text := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT 1 AS sign, %s FROM new_rows', cols)
        WHEN 'UPDATE' THEN format('SELECT 1 AS sign, %s FROM new_rows UNION ALL SELECT -1, %s FROM old_rows', cols, cols)
        ELSE format('SELECT -1 AS sign, %s FROM old_rows', cols)
    END;
BEGIN
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

CREATE TRIGGER uptime_groups_insert AFTER INSERT ON uptime_rollups
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION uptime_groups_track();
CREATE TRIGGER uptime_groups_update AFTER UPDATE ON uptime_rollups
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION uptime_groups_track();
CREATE TRIGGER uptime_groups_delete AFTER DELETE ON uptime_rollups
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION uptime_groups_track();

INSERT INTO uptime_group_rollups
    (scope, key, period, starts_at, zones, up_seconds, down_seconds, unknown_seconds, excluded_seconds)
SELECT s.scope, s.key, r.period, r.starts_at, count(*), sum(r.up_seconds), sum(r.down_seconds),
       sum(r.unknown_seconds), sum(r.excluded_seconds)
FROM uptime_rollups r
JOIN venues v ON v.id = r.venue_id
CROSS JOIN LATERAL (VALUES ('fleet', ''), ('brand', coalesce(v.brand, '')), ('country', coalesce(v.country, '')))
    AS s(scope, key)
GROUP BY s.scope, s.key, r.period, r.starts_at;
