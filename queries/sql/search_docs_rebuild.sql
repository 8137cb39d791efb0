-- Refill search_docs from the dead letters: error text, then the body when it is UTF-8 text.
DELETE FROM search_docs;
INSERT INTO search_docs
SELECT row_number() OVER (ORDER BY id) AS doc_id, 'dead letter', id, order_id,
       concat_ws(' ', error_text, reason, queue, original_queue,
                 CASE WHEN content_type IS NULL OR content_type LIKE '%json%' OR content_type LIKE 'text/%'
                      THEN try_cast(try(decode(body)) AS VARCHAR) END)
FROM dlq_messages
ORDER BY id;
