-- Up Migration
-- A forecast run is (forecast_type, run_id): a nowcast and a medium-range run issued at the same slot
-- (00:00, 08:00 and 16:00 UTC) have the same run_id. The idempotency record of a notification was
-- unique per (watchpoint, run_id, channel), so the second run's notification for a watchpoint was
-- taken for a duplicate of the first and never sent. It is now unique per (watchpoint, forecast
-- type, run, channel); the notification id (src/lambdas/shared/ids.ts) includes the forecast type.
ALTER TABLE notification_records
  DROP CONSTRAINT notification_records_once,
  ADD CONSTRAINT notification_records_once UNIQUE (watchpoint_id, forecast_type, run_id, channel);

-- Down Migration
ALTER TABLE notification_records
  DROP CONSTRAINT notification_records_once,
  ADD CONSTRAINT notification_records_once UNIQUE (watchpoint_id, run_id, channel);
