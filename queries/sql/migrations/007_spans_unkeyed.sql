-- `spans` without its primary key. The key (an ART over trace_id and span_id) cost more than any
-- other part of storing spans: 908k spans ingested in 9.2 s with it and 8.1-8.4 s without, and a
-- live batch of 20k spans into a store of 4M took 0.45 s against 0.27 s, more as the store grows,
-- since every release of the store checkpoints the index. A span is still stored once:
-- queries/ingest.py inserts only rows whose (trace_id, span_id) is not stored yet (one hash anti
-- join of the batch against the table), the first of a batch's rows that share one.
-- DuckDB cannot drop a constraint, so the table is made again; a store's spans are copied once.
CREATE TABLE spans_unkeyed AS SELECT * FROM spans;  -- the same columns (001), in the same order
ALTER TABLE spans_unkeyed ALTER COLUMN trace_id SET NOT NULL;
ALTER TABLE spans_unkeyed ALTER COLUMN span_id SET NOT NULL;
DROP TABLE spans;
ALTER TABLE spans_unkeyed RENAME TO spans;
