-- An alert's kind is one the code knows (bma_domain::monitoring::AlertKind). The bot used to open
-- 'offline' alerts, a kind the monitor never resolved: they become 'silent' alerts, the kind the
-- monitor opens for an offline zone and closes when it plays again. Where the zone already has an
-- open 'silent' alert, the bot's is resolved in its favour (one open alert per zone and kind).
UPDATE alerts o SET resolved = true, resolved_at = COALESCE(o.resolved_at, now())
 WHERE o.alert_type = 'offline' AND NOT o.resolved
   AND EXISTS (SELECT 1 FROM alerts s WHERE s.zone_id = o.zone_id AND s.alert_type = 'silent' AND NOT s.resolved);
UPDATE alerts SET alert_type = 'silent' WHERE alert_type = 'offline';

ALTER TABLE alerts ADD CONSTRAINT alerts_alert_type_check
    CHECK (alert_type IN ('silent', 'paused', 'muted', 'unpaired', 'subscription_expired', 'flapping', 'platform'));
