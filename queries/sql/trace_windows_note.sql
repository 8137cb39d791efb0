-- The windows of each trace in a batch of spans just inserted (006_trace_windows.sql).
INSERT INTO trace_windows
SELECT trace_id, {ingest}, min({start}), max({start}), count(*) FILTER ({start} IS NULL),
       count(*)
FROM {relation} GROUP BY ALL;
