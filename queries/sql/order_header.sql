-- One order's rollup row.
SELECT order_id, order_name, channel, customer_email, store_id, state, state_at, first_at, last_at,
       events, amount, currency
FROM orders
WHERE order_id = $order_id;
