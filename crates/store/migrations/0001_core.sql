-- The specification's nine tables, kept under their names and columns (types made stricter),
-- plus what the features need: contacts, opening hours, sessions, invitations, labels, audit.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE team_members (
    id                uuid PRIMARY KEY,
    email             varchar(255) NOT NULL UNIQUE CHECK (email = lower(email)),
    name              varchar(100) NOT NULL,
    role              varchar(50)  NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
    permissions       jsonb        NOT NULL DEFAULT '{}'::jsonb,
    active            boolean      NOT NULL DEFAULT true,
    password_hash     text,
    totp_secret_enc   bytea,
    totp_confirmed_at timestamptz,
    totp_last_step    bigint,
    created_at        timestamptz  NOT NULL DEFAULT now(),
    updated_at        timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE member_invitations (
    token_hash bytea PRIMARY KEY,
    member_id  uuid NOT NULL REFERENCES team_members(id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX member_invitations_member_id_idx ON member_invitations(member_id);

-- A session is one sign-in; its refresh tokens form a family that rotates on every refresh.
CREATE TABLE auth_sessions (
    id           uuid PRIMARY KEY,
    member_id    uuid NOT NULL REFERENCES team_members(id) ON DELETE CASCADE,
    ip           inet,
    user_agent   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    revoked_why  text
);
CREATE INDEX auth_sessions_member_id_idx ON auth_sessions(member_id);

CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens(session_id);

CREATE TABLE venues (
    id                    uuid PRIMARY KEY,
    name                  varchar(255) NOT NULL,
    brand                 varchar(100),
    country               varchar(2) CHECK (country ~ '^[A-Z]{2}$'),
    timezone              varchar(50) NOT NULL DEFAULT 'UTC',
    soundtrack_account_id varchar(100),
    archived_at           timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX venues_brand_idx ON venues(brand);
CREATE INDEX venues_country_idx ON venues(country);
CREATE INDEX venues_name_trgm_idx ON venues USING gin (name gin_trgm_ops);
CREATE INDEX venues_name_idx ON venues(name, id);
CREATE INDEX venues_soundtrack_account_id_idx ON venues(soundtrack_account_id);

CREATE TABLE zones (
    id                   uuid PRIMARY KEY,
    venue_id             uuid NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
    name                 varchar(100) NOT NULL,
    zone_type            varchar(50) NOT NULL DEFAULT 'other'
                         CHECK (zone_type IN ('lobby', 'restaurant', 'pool', 'spa', 'bar', 'retail', 'other')),
    soundtrack_device_id varchar(100) UNIQUE,
    last_status          varchar(20) NOT NULL DEFAULT 'unknown'
                         CHECK (last_status IN ('unknown', 'ok', 'suspect', 'down', 'recovering', 'flapping', 'offline_cached', 'maintenance')),
    last_check           timestamptz,
    archived_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zones_venue_id_idx ON zones(venue_id, name);

CREATE TABLE venue_contacts (
    id              uuid PRIMARY KEY,
    venue_id        uuid NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
    name            varchar(100) NOT NULL,
    role            varchar(50),
    channel         varchar(20) NOT NULL CHECK (channel IN ('whatsapp', 'line', 'email')),
    whatsapp_number varchar(16) CHECK (whatsapp_number ~ '^\+[1-9][0-9]{7,14}$'),
    line_user_id    varchar(33) CHECK (line_user_id ~ '^U[0-9a-f]{32}$'),
    email           varchar(255) CHECK (email = lower(email)),
    is_staff        boolean NOT NULL DEFAULT true,
    opted_out       boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((channel = 'whatsapp' AND whatsapp_number IS NOT NULL)
        OR (channel = 'line' AND line_user_id IS NOT NULL)
        OR (channel = 'email' AND email IS NOT NULL))
);
CREATE INDEX venue_contacts_venue_id_idx ON venue_contacts(venue_id);
CREATE INDEX venue_contacts_whatsapp_idx ON venue_contacts(whatsapp_number) WHERE whatsapp_number IS NOT NULL;
CREATE INDEX venue_contacts_line_idx ON venue_contacts(line_user_id) WHERE line_user_id IS NOT NULL;
CREATE INDEX venue_contacts_email_idx ON venue_contacts(email) WHERE email IS NOT NULL;

-- Minutes after local midnight; closes_at <= opens_at means the period ends the next day.
CREATE TABLE venue_opening_hours (
    venue_id  uuid NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
    weekday   smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens_at  smallint NOT NULL CHECK (opens_at BETWEEN 0 AND 1439),
    closes_at smallint NOT NULL CHECK (closes_at BETWEEN 0 AND 1440),
    PRIMARY KEY (venue_id, weekday, opens_at)
);

CREATE TABLE labels (
    id         uuid PRIMARY KEY,
    name       varchar(50) NOT NULL UNIQUE,
    color      varchar(7) NOT NULL DEFAULT '#6b7280' CHECK (color ~ '^#[0-9a-f]{6}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE venue_labels (
    venue_id uuid NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
    label_id uuid NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (venue_id, label_id)
);
CREATE INDEX venue_labels_label_id_idx ON venue_labels(label_id);

CREATE TABLE conversations (
    id              uuid PRIMARY KEY,
    venue_id        uuid REFERENCES venues(id) ON DELETE RESTRICT,
    contact_id      uuid REFERENCES venue_contacts(id) ON DELETE SET NULL,
    channel         varchar(20) NOT NULL CHECK (channel IN ('whatsapp', 'line', 'email')),
    external_id     varchar(100) NOT NULL,
    status          varchar(20) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'snoozed', 'closed')),
    assigned_to     uuid REFERENCES team_members(id) ON DELETE SET NULL,
    last_inbound_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_venue_id_idx ON conversations(venue_id);
CREATE INDEX conversations_contact_id_idx ON conversations(contact_id);
CREATE INDEX conversations_assigned_to_idx ON conversations(assigned_to);
CREATE INDEX conversations_channel_external_idx ON conversations(channel, external_id);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_type     varchar(20) NOT NULL CHECK (sender_type IN ('bot', 'user', 'team', 'system')),
    content         text NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_id_idx ON messages(conversation_id, created_at);

CREATE TABLE satisfaction_scores (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
    venue_id        uuid REFERENCES venues(id) ON DELETE RESTRICT,
    score           integer NOT NULL CHECK (score >= 1 AND score <= 5),
    feedback        text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX satisfaction_scores_venue_id_idx ON satisfaction_scores(venue_id, created_at);

-- Partitioned by day; the scheduler's partition upkeep keeps two weeks of partitions ahead.
CREATE TABLE music_status_logs (
    id                uuid NOT NULL,
    zone_id           uuid NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    status            varchar(20) NOT NULL,
    uptime_percentage numeric(5,2) CHECK (uptime_percentage BETWEEN 0 AND 100),
    response_time_ms  integer CHECK (response_time_ms >= 0),
    error_message     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX music_status_logs_zone_id_idx ON music_status_logs(zone_id, created_at);

CREATE TABLE campaigns (
    id               uuid PRIMARY KEY,
    name             varchar(255) NOT NULL,
    type             varchar(50) NOT NULL CHECK (type IN ('marketing', 'service', 'holiday')),
    channel          varchar(20) NOT NULL CHECK (channel IN ('whatsapp', 'line', 'email')),
    target_venues    uuid[] NOT NULL DEFAULT '{}',
    message_template text NOT NULL,
    scheduled_at     timestamptz,
    status           varchar(20) NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled', 'failed')),
    created_by       uuid REFERENCES team_members(id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_created_by_idx ON campaigns(created_by);
CREATE INDEX campaigns_scheduled_idx ON campaigns(status, scheduled_at);

CREATE TABLE alerts (
    id          uuid PRIMARY KEY,
    zone_id     uuid REFERENCES zones(id) ON DELETE CASCADE,
    alert_type  varchar(50) NOT NULL,
    severity    varchar(20) NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message     text NOT NULL,
    resolved    boolean NOT NULL DEFAULT false,
    resolved_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_zone_id_idx ON alerts(zone_id, created_at);
CREATE INDEX alerts_open_idx ON alerts(created_at) WHERE NOT resolved;

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    actor_id    uuid REFERENCES team_members(id) ON DELETE SET NULL,
    action      varchar(50) NOT NULL,
    entity_type varchar(50) NOT NULL,
    entity_id   varchar(100),
    before      jsonb,
    after       jsonb,
    ip          inet,
    request_id  varchar(100),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_at_idx ON audit_log(created_at DESC);
CREATE INDEX audit_log_actor_id_idx ON audit_log(actor_id, created_at DESC);
CREATE INDEX audit_log_entity_idx ON audit_log(entity_type, entity_id);

-- Creates the daily partitions of `parent` from `first_day` for `days` days; existing ones are kept.
CREATE FUNCTION bma_ensure_daily_partitions(parent text, first_day date, days integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date;
    created integer := 0;
    part text;
BEGIN
    FOR i IN 0 .. days - 1 LOOP
        d := first_day + i;
        part := format('%s_p%s', parent, to_char(d, 'YYYYMMDD'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           part, parent, d::timestamptz AT TIME ZONE 'UTC', (d + 1)::timestamptz AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

SELECT bma_ensure_daily_partitions('music_status_logs', (now() AT TIME ZONE 'UTC')::date - 1, 16);
