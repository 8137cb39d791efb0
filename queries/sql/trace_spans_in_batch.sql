-- The spans of one trace within one of its windows: the ingest id's and the start time's zone maps
-- prune the scan to the row groups of that batch and time (trace ids are random and prune nothing).
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id, ingest_id
FROM spans
WHERE ingest_id = $ingest_id AND start_time BETWEEN $first_start AND $last_start
  AND trace_id = $trace_id;
