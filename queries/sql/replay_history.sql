-- Replays of these dead letters already confirmed or acknowledged, newest first.
SELECT dlq_id, replay_id, run_id, action, target, outcome, "at"
FROM replays
WHERE list_contains($ids, dlq_id) AND outcome IN ('confirmed', 'acknowledged')
ORDER BY dlq_id, "at" DESC, replay_id;
