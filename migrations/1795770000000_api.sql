-- Up Migration
-- The API, DataPoller and Archiver tables (issue 10). See docs/api.md.

-- An API key. The key itself is shown once at creation and never stored: key_hash is the sha256 of
-- the full key (256 random bits, so a plain hash is enough; no password hashing is needed).
-- key_prefix ("wp_" + 8 characters) lets an operator recognise a key without revealing it.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  key_prefix text NOT NULL,
  key_hash bytea NOT NULL CHECK (length(key_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CONSTRAINT api_keys_hash_unique UNIQUE (key_hash)
);

-- Owner scope: the API key that created a watchpoint. NULL for rows created outside the API
-- (seeded by operators or tests); those are invisible to every API key.
ALTER TABLE watchpoints ADD COLUMN api_key_id uuid REFERENCES api_keys (id) ON DELETE RESTRICT;
-- Cursor pagination: (created_at, id) within one key.
CREATE INDEX watchpoints_api_key_created_idx ON watchpoints (api_key_id, created_at, id) WHERE api_key_id IS NOT NULL;

-- Idempotency-Key records: one per (caller scope, key). The response is stored so a retry with the
-- same body replays it; a different body (request_hash) is refused with 422. Expired after 24 h.
-- scope is the caller's api_keys.id as text, or 'admin' for the admin key.
CREATE TABLE idempotency_records (
  scope text NOT NULL,
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_hash text NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  status_code integer,
  response_headers jsonb,
  response_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_records_expires_idx ON idempotency_records (expires_at);

-- Forecast runs started by the DataPoller on RunPod. A run is identified by its forecast type and
-- its slot (the scheduled issue time); the UNIQUE constraint is what keeps two overlapping poller
-- invocations from starting the same run twice (the loser's INSERT does nothing).
CREATE TABLE forecast_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  forecast_type text NOT NULL CHECK (forecast_type IN ('nowcast', 'medium_range')),
  run_id text NOT NULL,
  slot timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'starting' CHECK (status IN ('starting', 'running', 'complete', 'failed')),
  runpod_job_id text,
  runpod_status text,
  start_attempts integer NOT NULL DEFAULT 0,
  last_error text,
  deadline_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  CONSTRAINT forecast_runs_slot_once UNIQUE (forecast_type, slot),
  CONSTRAINT forecast_runs_run_id_once UNIQUE (forecast_type, run_id)
);
CREATE INDEX forecast_runs_in_flight_idx ON forecast_runs (created_at) WHERE status IN ('starting', 'running');
CREATE INDEX forecast_runs_created_idx ON forecast_runs (created_at);

-- Audit events (API key and watchpoint changes). The Archiver moves old ones to ArchiveBucket:
-- it first claims a batch by setting archive_key, writes and verifies the object, then deletes
-- the claimed rows, so a crash at any point neither loses nor duplicates an event.
CREATE TABLE audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  action text NOT NULL,
  actor text NOT NULL,
  subject text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  archive_key text
);
CREATE INDEX audit_events_unclaimed_idx ON audit_events (occurred_at, id) WHERE archive_key IS NULL;
CREATE INDEX audit_events_claimed_idx ON audit_events (archive_key) WHERE archive_key IS NOT NULL;

CREATE INDEX notification_records_created_idx ON notification_records (created_at);

-- Down Migration
DROP INDEX notification_records_created_idx;
DROP TABLE audit_events;
DROP TABLE forecast_runs;
DROP TABLE idempotency_records;
DROP INDEX watchpoints_api_key_created_idx;
ALTER TABLE watchpoints DROP COLUMN api_key_id;
DROP TABLE api_keys;
