-- Public status links: an admin shares the music status of one brand (the venues' brand text)
-- or one venue under an unguessable URL. Only the SHA-256 of the link's token is kept, so the
-- URL is shown once, when the link is made; revoking is permanent (a new link re-shares).
CREATE TABLE status_links (
    id         uuid PRIMARY KEY,
    brand      varchar(100) CHECK (brand IS NULL OR length(btrim(brand)) > 0),
    venue_id   uuid REFERENCES venues(id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    label      varchar(100),
    created_by uuid REFERENCES team_members(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CONSTRAINT status_links_one_scope CHECK ((brand IS NULL) <> (venue_id IS NULL))
);
CREATE INDEX status_links_venue_id_idx ON status_links(venue_id) WHERE venue_id IS NOT NULL;
CREATE INDEX status_links_created_by_idx ON status_links(created_by);
CREATE INDEX status_links_created_at_idx ON status_links(created_at DESC, id);
