-- Keys (source, id) that lines of different text share, where at least one of them is a line
-- the fast path took (the LINES placeholder is events_fast.sql): Python would keep the first in
-- the file, INSERT OR IGNORE any of them, so such a file is read by Python alone. Keys of lines
-- left to Python (fastpath_check) come from DuckDB's lenient reading, so a line Python will
-- refuse may count too (it only costs speed).
WITH slow AS (
    SELECT hash(slow_line) AS digest,
           TRY_CAST(trim(CASE WHEN starts_with(slow_line, chr(65279))
                                      THEN substr(slow_line, 2) ELSE slow_line END) AS JSON) AS doc
    FROM fastpath_check
    WHERE NOT fast
), slow_keys AS (
    SELECT digest, unnest(CASE WHEN starts_with(doc, '[')
                               THEN json_transform(doc, '[{"source": "JSON", "id": "JSON"}]')
                               ELSE [json_transform(doc, '{"source": "JSON", "id": "JSON"}')]
                          END) AS k
    FROM slow
    WHERE doc IS NOT NULL
), keyed AS (
    SELECT source, event_id, hash(line) AS digest, true AS fast FROM (/*LINES*/) WHERE fast
    UNION ALL
    SELECT fastpath_str(k.source)::VARCHAR, coalesce(fastpath_str(k.id)::VARCHAR, k.id::VARCHAR), digest, false
    FROM slow_keys
)
SELECT count(*)
FROM (SELECT source, event_id
      FROM keyed
      WHERE source IS NOT NULL AND event_id IS NOT NULL
      GROUP BY source, event_id
      HAVING count(DISTINCT digest) > 1 AND bool_or(fast))
