-- An order id that no event named yet (no rollup row), but that a dead letter or a span does:
-- the capture itself may be the message that died. Its journey is what those hold; the columns
-- are order_header.sql's, unknown ones NULL.
SELECT $order_id AS order_id, NULL::VARCHAR AS order_name, NULL::VARCHAR AS channel,
       NULL::VARCHAR AS customer_email, NULL::VARCHAR AS store_id, NULL::VARCHAR AS state,
       NULL::TIMESTAMPTZ AS state_at, NULL::TIMESTAMPTZ AS first_at, NULL::TIMESTAMPTZ AS last_at,
       0 AS events, NULL::DECIMAL(18, 2) AS amount, NULL::VARCHAR AS currency
WHERE EXISTS (SELECT 1 FROM dlq_messages WHERE order_id = $order_id)
   OR EXISTS (SELECT 1 FROM spans WHERE order_id = $order_id);
