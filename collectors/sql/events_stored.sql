-- Mark the lines left out (fastpath_check) whose text is the payload of a row stored before under
-- the line's key (source, id): duplicates, as the Python path would find them, so a file that
-- repeats what an earlier ingest stored (a log that grew) does not go to Python for them.
UPDATE fastpath_check AS c
SET stored = true
FROM (SELECT slow_line,
             json_transform(TRY_CAST(slow_line AS JSON), '{"source": "JSON", "id": "JSON"}') AS k
      FROM fastpath_check
      WHERE starts_with(slow_line, '{') AND json_valid(slow_line)) AS keyed
JOIN events AS e
  ON e.source = fastpath_str(keyed.k.source) AND e.event_id = fastpath_str(keyed.k.id)
 AND e.payload::VARCHAR = keyed.slow_line
WHERE c.slow_line = keyed.slow_line
