-- Recompute the order rollup of every order named by events of the given ingests.
-- The current state is the furthest one reached in the canonical order ($ranked_states), not the
-- latest to arrive, so an event that arrives out of order cannot move an order backwards.
INSERT OR REPLACE INTO orders
WITH touched AS (
    SELECT DISTINCT order_id FROM events WHERE ingest_id >= $since_ingest AND order_id IS NOT NULL
),
facts AS (
    SELECT e.order_id,
           max(e.order_name)                                         AS order_name,
           arg_min(e.channel, e.occurred_at) FILTER (e.channel IS NOT NULL) AS channel,
           max(e.customer_email)                                     AS customer_email,
           arg_min(e.store_id, e.occurred_at) FILTER (e.store_id IS NOT NULL) AS store_id,
           min(e.occurred_at)                                        AS first_at,
           max(e.occurred_at)                                        AS last_at,
           count(*)                                                  AS events,
           arg_min(e.amount, e.occurred_at) FILTER (e.amount IS NOT NULL) AS amount,
           arg_min(e.currency, e.occurred_at) FILTER (e.currency IS NOT NULL) AS currency
    FROM events e JOIN touched USING (order_id)
    GROUP BY e.order_id
),
furthest AS (
    SELECT s.order_id,
           arg_max(s.state, list_position($ranked_states, s.state)) AS state,
           arg_max(s.first_at, list_position($ranked_states, s.state)) AS state_at
    FROM order_states s JOIN touched USING (order_id)
    GROUP BY s.order_id
)
SELECT f.order_id, f.order_name, f.channel, f.customer_email, f.store_id, u.state, u.state_at,
       f.first_at, f.last_at, f.events, f.amount, f.currency
FROM facts f LEFT JOIN furthest u USING (order_id)
ORDER BY f.order_id;
