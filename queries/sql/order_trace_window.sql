-- Where the spans of the given traces lie in time: the union of their batches' windows.
SELECT min(first_start), max(last_start), coalesce(sum(untimed), 0), count(*)
FROM trace_windows WHERE trace_id = ANY($trace_ids);
