-- The venue list is read far more than it is written: ordered, partial indexes let the common
-- filters (country, brand) page through live venues by name without sorting.
DROP INDEX IF EXISTS venues_brand_idx;
DROP INDEX IF EXISTS venues_country_idx;
DROP INDEX IF EXISTS venues_name_idx;
CREATE INDEX venues_live_name_idx ON venues (name, id) WHERE archived_at IS NULL;
CREATE INDEX venues_live_country_name_idx ON venues (country, name, id) WHERE archived_at IS NULL;
CREATE INDEX venues_live_brand_name_idx ON venues (brand, name, id) WHERE archived_at IS NULL;
CREATE INDEX venues_name_all_idx ON venues (name, id);
