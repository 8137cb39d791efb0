-- Text that people search for but that has no column of its own: dead-letter bodies and error
-- texts. The writer rebuilds the fts index over it after an ingest that added dead letters.
CREATE TABLE IF NOT EXISTS search_docs (
    doc_id   BIGINT PRIMARY KEY,
    kind     VARCHAR NOT NULL,     -- 'dead letter'
    ref      VARCHAR NOT NULL,     -- the dead letter's id
    order_id VARCHAR,
    text     VARCHAR NOT NULL
);
