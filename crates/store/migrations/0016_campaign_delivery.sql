-- LINE campaigns go out by multicast: the recipients of one call share a batch number, written
-- down (with their messages) before the call; the call's X-Line-Retry-Key is derived from the
-- campaign and this number, so a retry after a crash repeats the same key.
ALTER TABLE campaign_recipients ADD COLUMN multicast_batch integer;
CREATE INDEX campaign_recipients_multicast_idx ON campaign_recipients(campaign_id, multicast_batch)
    WHERE multicast_batch IS NOT NULL;

-- An email unsubscribe from a service campaign: no further service campaigns (alerts continue).
-- Promotional unsubscribes set `promotions_opted_out` (0013).
ALTER TABLE venue_contacts ADD COLUMN service_opted_out boolean NOT NULL DEFAULT false;
