-- Every state one order reached: when first, by which system, how often.
SELECT state, first_at AS at, system AS source, times, first_recorded_at AS recorded_at
FROM order_states
WHERE order_id = $order_id
ORDER BY first_at, list_position($ranked_states, state);
