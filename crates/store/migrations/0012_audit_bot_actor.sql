-- The venue bot changes players too: its audit entries say so, and name the venue contact who
-- asked. Entries written by people through the API keep actor_kind 'team'.
ALTER TABLE audit_log
    ADD COLUMN actor_kind varchar(10) NOT NULL DEFAULT 'team' CHECK (actor_kind IN ('team', 'bot')),
    ADD COLUMN actor_contact_id uuid REFERENCES venue_contacts(id) ON DELETE SET NULL;
CREATE INDEX audit_log_actor_contact_id_idx ON audit_log(actor_contact_id) WHERE actor_contact_id IS NOT NULL;
