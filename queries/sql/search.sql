-- Orders matching a search key, best match first, one page at a time.
WITH {{search_hits}}
SELECT r.order_id, r.matched, o.order_name, o.channel, o.state, o.state_at, o.store_id, o.last_at,
       count(*) OVER () AS total
FROM ranked r LEFT JOIN orders o USING (order_id)  -- an order only its dead letters or spans know
ORDER BY r.how, o.last_at DESC NULLS LAST, r.order_id
LIMIT $limit OFFSET $offset;
