-- One order's business events in the order they happened; recorded-before-occurred is flagged.
SELECT event_id, type, state, system, source, channel, occurred_at, recorded_at,
       coalesce(recorded_at < occurred_at, false) AS recorded_before_occurred,
       store_id, sku, quantity, amount::DOUBLE AS amount, currency, movement_id, trace_id, traceparent_valid
FROM events
WHERE order_id = $order_id
ORDER BY occurred_at, recorded_at, event_id;
