-- Administrative changes by actor over the last 7 days: Transmit admin events and the Strivacity and
-- Lookout audit logs. The actor is user.*, the account acted on (where there is one) user.target.*.
SELECT
  coalesce("user".name, "user".email, "user".id) AS actor,
  vendor,
  event.action AS action,
  count(*) AS changes,
  max(ts) AS last_change
FROM events
WHERE dt >= date_format(current_date - interval '7' day, '%Y-%m-%d')
  AND event_type IN ('admin', 'audit')
GROUP BY coalesce("user".name, "user".email, "user".id), vendor, event.action
ORDER BY changes DESC, actor, vendor, action
