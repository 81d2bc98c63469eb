-- Up Migration
-- Delivery (issue 9): the webhook signing secret of each watchpoint, and a delivery lease on the
-- notification record. See docs/delivery.md and docs/webhooks.md.

-- The secret the webhook worker signs each POST with (HMAC-SHA256). HMAC needs the secret itself at
-- signing time, so it cannot be stored as a hash; it lives here, next to the URL it protects, behind
-- the database's credentials and encryption at rest, and is never logged. Every watchpoint gets its
-- own 244-bit random secret (two gen_random_uuid() values, from the server's strong random source);
-- the API may replace it (rotation) and shows it to the watchpoint's owner.
ALTER TABLE watchpoints
  ADD COLUMN webhook_secret text NOT NULL
    DEFAULT ('whsec_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''))
    CHECK (length(webhook_secret) >= 32);

-- While one worker is sending a notification it holds a short lease on its record, so a duplicate
-- copy of the message handled at the same moment by another worker is not sent a second time.
ALTER TABLE notification_records
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN last_attempt_at timestamptz;

-- `watchpoint status`-style questions: what failed or was delivered recently.
CREATE INDEX notification_records_last_attempt_idx ON notification_records (last_attempt_at) WHERE last_attempt_at IS NOT NULL;

-- Down Migration
DROP INDEX notification_records_last_attempt_idx;
ALTER TABLE notification_records DROP COLUMN last_attempt_at, DROP COLUMN lease_until;
ALTER TABLE watchpoints DROP COLUMN webhook_secret;
