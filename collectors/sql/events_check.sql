-- Every line of the file, when the insert did not store one row per line: `slow_line` is the
-- text of a line the insert left out, NULL for a line it took (a line whose text is the payload
-- of a row this ingest stored: the payload is the line as read). One row per line, so the same
-- statement also counts the lines DuckDB read. `stored` is set by events_stored.sql; the lines
-- left out that it does not mark are Python's to read. LINE and PAYLOAD are the text itself (l.line,
-- payload::VARCHAR) or its 64-bit hash (collectors/fastpath.py: the hashes are compared first, and
-- the texts only when the hashes could not tell).
CREATE OR REPLACE TEMP TABLE fastpath_check AS
SELECT CASE WHEN NOT coalesce(/*LINE*/ IN (SELECT /*PAYLOAD*/ FROM events
                                          WHERE ingest_id = $ingest_id), false)
            THEN coalesce(l.line, '') END AS slow_line,
       false AS stored
FROM fastpath_lines($path, $longest) AS l
