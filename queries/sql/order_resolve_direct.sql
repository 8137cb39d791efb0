-- The cheap first try for `order KEY`, when the key is not an order id: an order name such as
-- #1042 (a scan of the names, newest first).
SELECT order_id FROM orders
WHERE order_name = $order_name
ORDER BY last_at DESC NULLS LAST, order_id
LIMIT 50;
