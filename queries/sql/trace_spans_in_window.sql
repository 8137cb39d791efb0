-- The spans of one trace within one of its time windows: the start-time zone maps prune the scan
-- to the row groups of that window (trace ids are random and prune nothing).
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id, ingest_id
FROM spans
WHERE start_time BETWEEN $first_start AND $last_start AND trace_id = $trace_id;
