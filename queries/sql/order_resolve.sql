-- Which orders a key names: order id, order name (#1042), trace id, dead letter or message id, email.
WITH hits AS (
    SELECT order_id, 1 AS how FROM orders WHERE order_id = $key
    UNION ALL
    SELECT order_id, 2 FROM orders WHERE order_name = $order_name
    UNION ALL
    SELECT order_id, 3 FROM events WHERE trace_id = $trace_id AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 3 FROM spans WHERE trace_id = $trace_id AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 3 FROM dlq_messages WHERE trace_id = $trace_id AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 4 FROM dlq_messages WHERE (id = $key OR message_id = $key) AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 4 FROM spans WHERE message_id = $key AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 5 FROM orders WHERE lower(customer_email) = lower($key)
)
SELECT h.order_id, min(h.how) AS how, max(o.last_at) AS last_at
FROM hits h LEFT JOIN orders o USING (order_id)
GROUP BY h.order_id
ORDER BY how, last_at DESC NULLS LAST, h.order_id
LIMIT 50;
