-- Store the lines the CloudEvents fast path takes (the LINES placeholder is events_fast.sql); the
-- count returned is the rows inserted. A plain INSERT fails on a key stored already or given
-- twice in the file; collectors/fastpath.py then runs it again as INSERT OR IGNORE, which skips
-- those keys (DuckDB runs it as a MERGE whose hash aggregate keeps every column of every row, so
-- the plain INSERT is the cheaper first try).
INSERT INTO events BY NAME
SELECT * EXCLUDE (line, fast), $ingest_id::BIGINT AS ingest_id
FROM (/*LINES*/)
WHERE fast
