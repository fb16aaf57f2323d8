-- The provider's curated playlists, so the bot can switch a zone "to jazz" or "to something
-- calm": a Soundtrack playlist id, its name, and the moods it suits.
CREATE TABLE playlist_catalogue (
    id            uuid PRIMARY KEY,
    soundtrack_id varchar(200) NOT NULL UNIQUE,
    name          varchar(200) NOT NULL,
    moods         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX playlist_catalogue_moods_idx ON playlist_catalogue USING gin (moods);
