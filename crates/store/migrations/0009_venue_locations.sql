-- Where a venue is, for the weather that colours the bot's music suggestions.
CREATE TABLE venue_locations (
    venue_id   uuid PRIMARY KEY REFERENCES venues(id) ON DELETE CASCADE,
    latitude   double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude  double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    updated_at timestamptz NOT NULL DEFAULT now()
);
