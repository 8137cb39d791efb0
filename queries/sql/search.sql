-- Orders matching a search key, best match first, one page at a time.
-- `total` is a subquery, not count(*) OVER (): with the LEFT JOIN below, DuckDB 1.5.5 sometimes
-- failed the window with "INTERNAL Error: Attempted to access index 0 within vector of size 0".
WITH {{search_hits}}
SELECT r.order_id, r.matched, o.order_name, o.channel, o.state, o.state_at, o.store_id, o.last_at,
       (SELECT count(*) FROM ranked) AS total
FROM ranked r LEFT JOIN orders o USING (order_id)  -- an order only its dead letters or spans know
ORDER BY r.how, o.last_at DESC NULLS LAST, r.order_id
LIMIT $limit OFFSET $offset;
