-- What landed today, per vendor, event type and hour; events counts distinct event.id, so the difference
-- to lines is what a retry or an overlapping window delivered twice (SIEMs dedup on event.id).
SELECT
  vendor,
  event_type,
  dt,
  hour,
  count(*) AS lines,
  count(DISTINCT event.id) AS events
FROM events
WHERE dt = date_format(current_date, '%Y-%m-%d')
GROUP BY vendor, event_type, dt, hour
ORDER BY vendor, event_type, dt, hour
