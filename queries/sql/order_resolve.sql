-- Which orders a key names exactly: order id, order name (#1042), trace id, message id, email.
WITH {{search_hits}}
SELECT r.order_id, r.how, o.last_at
FROM ranked r LEFT JOIN orders o USING (order_id)
ORDER BY r.how, o.last_at DESC NULLS LAST, r.order_id
LIMIT 50;
