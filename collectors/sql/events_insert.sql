-- Store the lines the CloudEvents fast path takes (the LINES placeholder is events_fast.sql); a key already
-- stored is skipped, so the count returned is the rows inserted.
INSERT OR IGNORE INTO events BY NAME
SELECT * EXCLUDE (line, fast), $ingest_id::BIGINT AS ingest_id
FROM (/*LINES*/)
WHERE fast
