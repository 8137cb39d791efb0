-- Orders a search key names, with how (1 best) and what matched.
hits AS (
    SELECT order_id, 1 AS how, 'order id' AS matched FROM orders WHERE order_id = $key
    UNION ALL
    -- an order no event named yet: only its dead letters or spans know it
    SELECT order_id, 1, 'order id' FROM dlq_messages WHERE order_id = $key
    UNION ALL
    SELECT order_id, 1, 'order id' FROM spans WHERE order_id = $key
    UNION ALL
    SELECT order_id, 2, 'order name' FROM orders WHERE order_name = $order_name
    UNION ALL
    SELECT order_id, 3, 'trace id' FROM events WHERE trace_id = $trace_id AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 3, 'trace id' FROM spans WHERE trace_id = $trace_id AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 3, 'trace id' FROM dlq_messages WHERE trace_id = $trace_id AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 4, 'dead letter' FROM dlq_messages
    WHERE (id = $key OR message_id = $key) AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 4, 'message id' FROM spans WHERE message_id = $key AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 5, 'email' FROM orders WHERE lower(customer_email) = lower($key)
    UNION ALL
    SELECT order_id, 6, 'order id prefix' FROM orders
    WHERE $max_how >= 6 AND length($key) >= 3 AND starts_with(order_id, $key) AND order_id <> $key
    UNION ALL
    SELECT order_id, 7, 'sku' FROM events WHERE $max_how >= 7 AND sku = $key AND order_id IS NOT NULL
    UNION ALL
    SELECT order_id, 8, 'store' FROM orders WHERE $max_how >= 8 AND store_id = $key
),
ranked AS (
    SELECT order_id, min(how) AS how, arg_min(matched, how) AS matched
    FROM hits
    WHERE how <= $max_how
    GROUP BY order_id
)
