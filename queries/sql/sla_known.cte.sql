-- Shared CTEs: the SLA rules, and the states each order had reached (recorded) by $at.
rules AS (
    SELECT r.name AS rule, r.from_state, r.to_state, r.within_s, r.channels
    FROM (SELECT unnest($rules) AS r)
),
known AS (
    SELECT order_id, state, first_at FROM order_states
    WHERE coalesce(first_recorded_at, first_at) <= $at
      AND ($order_id IS NULL OR order_id = $order_id)   -- one order's journey reads one order
)
