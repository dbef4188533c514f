-- Input that could not be parsed or mapped over the last 7 days, newest first: the error and the start of
-- the raw text as received (the whole text is in event.original).
SELECT
  ts AS ingested,
  vendor,
  error.message AS error,
  substr(event.original, 1, 200) AS raw_start
FROM events
WHERE event_type = '_unparsed'
  AND dt >= date_format(current_date - interval '7' day, '%Y-%m-%d')
ORDER BY ingested DESC, vendor
LIMIT 100
