-- Every span of the given traces, by scanning every trace id: for an order with so many trace
-- windows that one narrow scan each would cost more.
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id, ingest_id
FROM spans
WHERE trace_id = ANY($trace_ids);
