-- Monitoring: the state machine of each zone survives restarts, alerts are de-duplicated (one
-- open alert per zone and kind), venue alert groups remember what was announced, maintenance
-- windows and silences mute zones or whole venues, and discovery flags zones Soundtrack no
-- longer lists.
CREATE TABLE zone_monitor_state (
    zone_id     uuid PRIMARY KEY REFERENCES zones(id) ON DELETE CASCADE,
    machine     jsonb NOT NULL,
    observation varchar(30) NOT NULL DEFAULT 'unknown',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE venue_alert_groups (
    venue_id   uuid PRIMARY KEY REFERENCES venues(id) ON DELETE CASCADE,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE alerts
    ADD COLUMN venue_id uuid REFERENCES venues(id) ON DELETE CASCADE,
    ADD COLUMN started_at timestamptz,
    ADD COLUMN resolved_by uuid REFERENCES team_members(id) ON DELETE SET NULL;
CREATE INDEX alerts_venue_id_idx ON alerts(venue_id, created_at);
CREATE INDEX alerts_resolved_by_idx ON alerts(resolved_by);
CREATE UNIQUE INDEX alerts_one_open_per_zone_idx ON alerts(zone_id, alert_type) WHERE NOT resolved AND zone_id IS NOT NULL;
CREATE UNIQUE INDEX alerts_one_open_platform_idx ON alerts(alert_type) WHERE NOT resolved AND zone_id IS NULL AND venue_id IS NULL;

CREATE TABLE maintenance_windows (
    id         uuid PRIMARY KEY,
    venue_id   uuid REFERENCES venues(id) ON DELETE CASCADE,
    zone_id    uuid REFERENCES zones(id) ON DELETE CASCADE,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    reason     text NOT NULL DEFAULT '',
    created_by uuid REFERENCES team_members(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (venue_id IS NOT NULL OR zone_id IS NOT NULL),
    CHECK (ends_at > starts_at)
);
CREATE INDEX maintenance_windows_venue_id_idx ON maintenance_windows(venue_id, ends_at);
CREATE INDEX maintenance_windows_zone_id_idx ON maintenance_windows(zone_id, ends_at);
CREATE INDEX maintenance_windows_created_by_idx ON maintenance_windows(created_by);

ALTER TABLE zones ADD COLUMN soundtrack_missing_since timestamptz;

-- What a row of the status log records: a check sample (status = what was observed), a
-- transition of the zone's state machine (status = the new state), or a change of health
-- (status = up, down or unknown), from which uptime is computed exactly.
ALTER TABLE music_status_logs ADD COLUMN kind varchar(12) NOT NULL DEFAULT 'sample'
    CHECK (kind IN ('sample', 'transition', 'health'));
CREATE INDEX music_status_logs_health_idx ON music_status_logs(zone_id, created_at) WHERE kind = 'health';
