-- The actions trail, newest first.
SELECT action_id, "at", who, action, message_ids, target, dry_run, outcome, detail, trace_id
FROM actions
WHERE ($who IS NULL OR who = $who)
  AND ($action IS NULL OR action = $action)
  AND ($since IS NULL OR "at" >= $since)
ORDER BY "at" DESC, action_id
LIMIT $limit OFFSET $offset;
