-- Up Migration
-- API abuse limits (issue 27). See docs/api.md, "Quotas" and "Pausing".

-- A key's own quotas; NULL takes the stage's default (ApiFunction's API_QUOTA_* variables).
ALTER TABLE api_keys
  ADD COLUMN quota_watchpoints integer CHECK (quota_watchpoints >= 0),
  ADD COLUMN quota_channels_per_watchpoint integer CHECK (quota_channels_per_watchpoint BETWEEN 1 AND 10),
  ADD COLUMN quota_recipients integer CHECK (quota_recipients >= 0);

-- Paused by the platform's admin (an incident, or the owner's key revoked): the eval worker skips
-- the watchpoint's notifications and logs each one it suppresses. The owner's own `active` flag is
-- separate: an owner cannot resume what the admin paused.
ALTER TABLE watchpoints
  ADD COLUMN paused_at timestamptz,
  ADD COLUMN paused_reason text CHECK (paused_reason IN ('key_revoked', 'operator')),
  ADD CONSTRAINT watchpoints_paused_has_reason CHECK ((paused_at IS NULL) = (paused_reason IS NULL));

-- Idempotency records no longer keep a watchpoint's webhook secret (the replay reads it from the
-- watchpoint); drop it from the records written before.
UPDATE idempotency_records
   SET response_body = (response_body::jsonb - 'webhook_secret')::text
 WHERE method = 'POST' AND path = '/v1/watchpoints' AND response_body LIKE '%"webhook_secret"%';

-- Down Migration
ALTER TABLE watchpoints DROP CONSTRAINT watchpoints_paused_has_reason, DROP COLUMN paused_reason, DROP COLUMN paused_at;
ALTER TABLE api_keys DROP COLUMN quota_recipients, DROP COLUMN quota_channels_per_watchpoint, DROP COLUMN quota_watchpoints;
