-- Quarantined input records, newest first: what `backroom rejects` lists. The total of the
-- same filter comes with every row, so a page knows how many there are in all.
WITH matching AS (
    SELECT ingest_id, source, line, byte_offset, reason, excerpt, rejected_at
    FROM rejects
    WHERE ($since IS NULL OR rejected_at >= $since)
      AND ($source IS NULL OR contains(lower(source), lower($source)))
      AND ($reason IS NULL OR contains(lower(reason), lower($reason)))
)
SELECT ingest_id, source, line, byte_offset, reason, excerpt, rejected_at,
       (SELECT count(*) FROM matching) AS total
FROM matching
ORDER BY rejected_at DESC, source, line NULLS LAST
LIMIT $limit OFFSET $offset;
