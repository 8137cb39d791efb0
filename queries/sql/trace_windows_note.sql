-- The time window of each trace in a batch of spans just inserted (006_trace_windows.sql).
INSERT INTO trace_windows
SELECT trace_id, min({start}), max({start}), count(*) FILTER ({start} IS NULL)
FROM {relation} GROUP BY trace_id;
