-- Failed logins per user over the last 24 hours, across every vendor.
-- The dt filter prunes partitions to yesterday and today; the ts filter keeps exactly the last 24 hours.
SELECT
  coalesce("user".name, "user".email, "user".id) AS user_name,
  vendor,
  count(*) AS failed_logins,
  min(ts) AS first_failure,
  max(ts) AS last_failure
FROM events
WHERE dt >= date_format(current_date - interval '1' day, '%Y-%m-%d')
  AND from_iso8601_timestamp(ts) > current_timestamp - interval '1' day
  AND array_position(event.category, 'authentication') > 0
  AND event.outcome = 'failure'
GROUP BY coalesce("user".name, "user".email, "user".id), vendor
ORDER BY failed_logins DESC, user_name, vendor
