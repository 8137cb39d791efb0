-- Dead letters leave 'dead' only once the runtime confirmed them (or the archive took them).
UPDATE dlq_messages SET status = $status WHERE list_contains($ids, id);
