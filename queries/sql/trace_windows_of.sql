-- Where the spans of the given traces lie: one window per batch that brought spans of a trace
-- (006_trace_windows.sql), found by the index on trace id.
SELECT trace_id, ingest_id, first_start, last_start, untimed, spans
FROM trace_windows
WHERE trace_id = ANY($trace_ids)
ORDER BY trace_id, first_start;
