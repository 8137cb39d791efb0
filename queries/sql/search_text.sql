-- Dead letters whose error or body text matches every word, best BM25 score first.
SELECT ref AS dlq_id, order_id, score
FROM (
    SELECT ref, order_id, fts_main_search_docs.match_bm25(doc_id, $text, conjunctive := 1) AS score
    FROM search_docs
)
WHERE score IS NOT NULL
ORDER BY score DESC, dlq_id
LIMIT $limit;
