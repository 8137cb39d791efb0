-- Stores that reported before but have been silent for longer than $quiet_seconds as of $at.
SELECT store_id,
       max(occurred_at)                          AS last_event_at,
       epoch($at) - epoch(max(occurred_at))      AS quiet_seconds
FROM events
WHERE system = 'pos' AND store_id IS NOT NULL AND coalesce(recorded_at, occurred_at) <= $at
GROUP BY store_id
HAVING epoch($at) - epoch(max(occurred_at)) > $quiet_seconds
ORDER BY quiet_seconds DESC, store_id;
