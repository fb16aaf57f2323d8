-- Messaging: one conversation per channel address (an email thread is its own address), every
-- message keyed by the provider's id so a redelivered webhook is a no-op, delivery states of what
-- we send, media kept after the provider's URL expires, and the survey's bookkeeping.

DROP INDEX conversations_channel_external_idx;
CREATE UNIQUE INDEX conversations_channel_external_uidx ON conversations(channel, external_id);

ALTER TABLE conversations
    ADD COLUMN contact_name      varchar(100),
    ADD COLUMN subject           varchar(255),
    -- Email: the address replies go to (external_id is the thread's first Message-ID).
    ADD COLUMN reply_to          varchar(255),
    ADD COLUMN unknown_sender    boolean NOT NULL DEFAULT false,
    ADD COLUMN snoozed_until     timestamptz,
    ADD COLUMN assigned_at       timestamptz,
    ADD COLUMN last_message_at   timestamptz,
    -- The first venue message not yet answered by a person or the bot; NULL when nobody waits.
    ADD COLUMN waiting_since     timestamptz,
    ADD COLUMN first_response_at timestamptz,
    ADD COLUMN closed_at         timestamptz,
    -- Set once a person has taken over: a reopened conversation goes to people, not the bot.
    ADD COLUMN handed_over_at    timestamptz,
    ADD COLUMN bot_misses        smallint NOT NULL DEFAULT 0,
    ADD COLUMN survey_sent_at    timestamptz,
    -- The member credited with the survey, fixed when it is sent.
    ADD COLUMN survey_member_id  uuid REFERENCES team_members(id) ON DELETE SET NULL,
    -- LINE: the newest reply token and when it arrived (it is single-use and lives a minute).
    ADD COLUMN reply_token       text,
    ADD COLUMN reply_token_at    timestamptz;

CREATE INDEX conversations_inbox_idx ON conversations(status, last_message_at DESC, id);
CREATE INDEX conversations_waiting_idx ON conversations(waiting_since) WHERE waiting_since IS NOT NULL;
CREATE INDEX conversations_assignee_open_idx ON conversations(assigned_to) WHERE status IN ('open', 'snoozed');

ALTER TABLE messages
    ADD COLUMN channel         varchar(20) CHECK (channel IN ('whatsapp', 'line', 'email')),
    -- wamid, LINE webhookEventId (inbound) or sent message id (outbound), email Message-ID.
    ADD COLUMN external_id     varchar(255),
    ADD COLUMN direction       varchar(8) NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out', 'note')),
    ADD COLUMN kind            varchar(20) NOT NULL DEFAULT 'text',
    ADD COLUMN author_id       uuid REFERENCES team_members(id) ON DELETE SET NULL,
    -- What to send (outbound only): the channel payload the send job turns into an API call.
    ADD COLUMN outbound        jsonb,
    ADD COLUMN delivery_status varchar(12) CHECK (delivery_status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed')),
    ADD COLUMN delivery_error  jsonb,
    ADD COLUMN status_at       timestamptz,
    ADD COLUMN send_method     varchar(8) CHECK (send_method IN ('api', 'reply', 'push', 'smtp')),
    -- LINE's X-Line-Retry-Key: the same key on every attempt makes a push happen once.
    ADD COLUMN retry_key       uuid;

CREATE UNIQUE INDEX messages_channel_external_uidx ON messages(channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_undelivered_idx ON messages(delivery_status) WHERE delivery_status IN ('queued', 'sending');

CREATE TABLE message_media (
    message_id uuid PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    mime_type  varchar(100) NOT NULL,
    bytes      bytea NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE satisfaction_scores
    ADD COLUMN member_id uuid REFERENCES team_members(id) ON DELETE SET NULL,
    ADD COLUMN channel   varchar(20);

ALTER TABLE team_members ADD COLUMN last_assigned_at timestamptz;
