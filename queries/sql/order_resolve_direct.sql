-- The cheap first try for `order KEY`: the key is an order id or an order name (both on `orders`).
SELECT order_id FROM orders
WHERE order_id = $key OR order_name = $order_name
ORDER BY order_id <> $key, last_at DESC NULLS LAST, order_id
LIMIT 50;
