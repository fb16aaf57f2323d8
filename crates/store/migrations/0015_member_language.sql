-- The language a member chose for the portal (en, th); none: the browser's.
ALTER TABLE team_members ADD COLUMN language varchar(5) CHECK (language IN ('en', 'th'));
