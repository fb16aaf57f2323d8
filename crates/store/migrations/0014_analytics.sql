-- Analytics: the dashboard's "today" and "last N days" figures read these columns by time, so
-- each gets an index instead of a scan of the whole table.
CREATE INDEX messages_created_at_idx ON messages(created_at);
CREATE INDEX satisfaction_scores_created_at_idx ON satisfaction_scores(created_at);
CREATE INDEX conversations_first_response_at_idx ON conversations(first_response_at) WHERE first_response_at IS NOT NULL;
CREATE INDEX conversations_closed_at_idx ON conversations(closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX conversations_not_closed_idx ON conversations(status) WHERE status <> 'closed';
-- Retention deletes hourly uptime rollups by age.
CREATE INDEX uptime_rollups_period_starts_at_idx ON uptime_rollups(period, starts_at);
