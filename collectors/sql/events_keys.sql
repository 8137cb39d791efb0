-- Keys (source, id) that a line left to Python shares with a row this ingest stored from a line
-- of other text (fastpath_check; a line of the same text was taken): Python would keep the
-- first of them in the file, the fast path kept its own, so such a file is read by Python
-- alone. Keys come from DuckDB's lenient reading, so a line Python will refuse may count too
-- (it only costs speed).
WITH slow AS (
    SELECT TRY_CAST(trim(CASE WHEN starts_with(slow_line, chr(65279))
                                   THEN substr(slow_line, 2) ELSE slow_line END) AS JSON) AS doc
    FROM fastpath_check
    WHERE NOT stored
), slow_keys AS (
    SELECT unnest(CASE WHEN starts_with(doc, '[')
                       THEN json_transform(doc, '[{"source": "JSON", "id": "JSON"}]')
                       ELSE [json_transform(doc, '{"source": "JSON", "id": "JSON"}')]
                  END) AS k
    FROM slow
    WHERE doc IS NOT NULL
)
SELECT count(*)
FROM slow_keys
JOIN events AS e
  ON e.source = fastpath_str(k.source)::VARCHAR
 AND e.event_id = coalesce(fastpath_str(k.id)::VARCHAR, k.id::VARCHAR)
WHERE e.ingest_id = $ingest_id
