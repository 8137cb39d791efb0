-- The spans of one trace that have no start time (rare: no window can find them, so a full scan).
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id, ingest_id
FROM spans
WHERE start_time IS NULL AND trace_id = $trace_id;
