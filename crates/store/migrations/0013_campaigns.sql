-- Campaigns: the specification's table gains what sending needs (a saved audience filter,
-- which contacts of a venue, a fallback order of channels, a WhatsApp template, a reply window,
-- timestamps of its lifecycle), and each recipient is written down once per campaign and
-- contact, linked to the message that carried it.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_channel_check;
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns
    ADD CONSTRAINT campaigns_channel_check CHECK (channel IN ('whatsapp', 'line', 'email', 'preferred')),
    ADD CONSTRAINT campaigns_status_check
        CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled', 'failed')),
    ADD COLUMN channel_fallback   varchar(20)[] NOT NULL DEFAULT '{}',
    -- NULL: the explicit target_venues; otherwise a filter resolved when sending starts.
    ADD COLUMN audience_filter    jsonb,
    ADD COLUMN contacts           varchar(60) NOT NULL DEFAULT 'staff',
    -- {name, language, params[]}: what WhatsApp recipients receive outside the 24-hour window.
    ADD COLUMN whatsapp_template  jsonb,
    ADD COLUMN reply_window_hours integer NOT NULL DEFAULT 72 CHECK (reply_window_hours BETWEEN 1 AND 720),
    -- A wall-clock time ("09:00 on 25 December") each venue gets in its own time zone; the
    -- campaign starts (scheduled_at) when the earliest zone on Earth reaches it.
    ADD COLUMN send_at_local      timestamp,
    -- Local hours of each venue in which nothing is sent; a message due then waits for the end.
    ADD COLUMN quiet_start        time,
    ADD COLUMN quiet_end          time,
    ADD CONSTRAINT campaigns_quiet_hours_check
        CHECK ((quiet_start IS NULL) = (quiet_end IS NULL) AND (quiet_start IS NULL OR quiet_start <> quiet_end)),
    ADD COLUMN started_at         timestamptz,
    ADD COLUMN finished_at        timestamptz;

CREATE TABLE campaign_recipients (
    id              uuid PRIMARY KEY,
    campaign_id     uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    venue_id        uuid NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
    -- NULL when the venue has no contact the campaign can reach (status 'skipped').
    contact_id      uuid REFERENCES venue_contacts(id) ON DELETE SET NULL,
    channel         varchar(20) CHECK (channel IN ('whatsapp', 'line', 'email')),
    status          varchar(12) NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'replied', 'failed', 'opted_out', 'skipped')),
    conversation_id uuid REFERENCES conversations(id) ON DELETE SET NULL,
    message_id      uuid REFERENCES messages(id) ON DELETE SET NULL,
    error           text,
    -- When this recipient's message may go: now, or the campaign's local time in the venue's zone.
    due_at          timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, contact_id)
);
CREATE UNIQUE INDEX campaign_recipients_unreachable_uidx ON campaign_recipients(campaign_id, venue_id)
    WHERE contact_id IS NULL;
CREATE INDEX campaign_recipients_venue_id_idx ON campaign_recipients(venue_id);
CREATE INDEX campaign_recipients_contact_id_idx ON campaign_recipients(contact_id);
CREATE INDEX campaign_recipients_conversation_id_idx ON campaign_recipients(conversation_id);
CREATE UNIQUE INDEX campaign_recipients_message_id_uidx ON campaign_recipients(message_id);
-- The send job's next batch: recipients written down and not yet handed to a channel.
CREATE INDEX campaign_recipients_pending_idx ON campaign_recipients(campaign_id, due_at)
    WHERE status = 'queued' AND message_id IS NULL;

-- A contact who replied STOP (or ยกเลิก, unsubscribe) to a campaign receives no further
-- promotional (marketing, holiday) campaigns; `opted_out` (a LINE block) still stops everything.
ALTER TABLE venue_contacts ADD COLUMN promotions_opted_out boolean NOT NULL DEFAULT false;
