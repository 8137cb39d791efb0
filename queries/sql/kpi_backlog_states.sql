-- Orders by their current state as of $at, unsettled ones only.
SELECT state, count(*) AS orders
FROM orders
WHERE state IS NOT NULL AND state NOT IN ('settled', 'refund_settled') AND first_at <= $at
GROUP BY state
ORDER BY list_position($ranked_states, state);
