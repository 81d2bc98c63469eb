-- Up Migration
-- The tables the forecast pipeline needs (issue 8). See docs/pipeline.md for the contracts.

-- A watchpoint: "tell me, on these channels, when <variable> <condition> <threshold> at this location
-- during hours [window_start_hours, window_end_hours] after a forecast's issue time".
CREATE TABLE watchpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  latitude double precision NOT NULL CHECK (latitude >= -90 AND latitude <= 90),
  longitude double precision NOT NULL CHECK (longitude >= -180 AND longitude < 180),
  -- (x, y) = (longitude, latitude), so the GiST index answers "which watchpoints are in this tile".
  location point GENERATED ALWAYS AS (point(longitude, latitude)) STORED,
  variable text NOT NULL CHECK (variable ~ '^[a-z][a-z0-9_]{0,63}$'),
  condition text NOT NULL CHECK (condition IN ('gt', 'gte', 'lt', 'lte')),
  threshold double precision NOT NULL CHECK (threshold <> 'NaN' AND threshold <> 'Infinity' AND threshold <> '-Infinity'),
  window_start_hours integer NOT NULL DEFAULT 0 CHECK (window_start_hours >= 0),
  window_end_hours integer NOT NULL CHECK (window_end_hours >= window_start_hours AND window_end_hours <= 384),
  -- [{"type":"email","address":"a@example.com"}, {"type":"webhook","url":"https://..."}]
  channels jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(channels) = 'array'),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX watchpoints_active_location_idx ON watchpoints USING gist (location) WHERE active;

-- One row per (watchpoint, forecast run, channel): the idempotency record of a notification.
-- id is derived from the three (docs/pipeline.md), and is the notification_id of the message.
-- status: pending (claimed, not known to be sent) -> enqueued (SendMessage succeeded)
--         -> delivered | failed (written by the email/webhook workers).
CREATE TABLE notification_records (
  id uuid PRIMARY KEY,
  watchpoint_id uuid NOT NULL REFERENCES watchpoints (id) ON DELETE CASCADE,
  run_id text NOT NULL,
  forecast_type text NOT NULL CHECK (forecast_type IN ('nowcast', 'medium_range')),
  channel text NOT NULL,
  job_id text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'enqueued', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  enqueued_at timestamptz,
  delivered_at timestamptz,
  CONSTRAINT notification_records_once UNIQUE (watchpoint_id, run_id, channel)
);

CREATE INDEX notification_records_pending_idx ON notification_records (created_at) WHERE status = 'pending';

-- Down Migration
DROP TABLE notification_records;
DROP TABLE watchpoints;
