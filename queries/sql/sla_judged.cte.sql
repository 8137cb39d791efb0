-- Shared CTEs: every (order, SLA rule) in scope as of $at, with its status (met, breached, open,
-- pending). A state counts as reached by $at when the middleware had recorded it by then, so a
-- report "as of" an instant gives the same answer whenever it is run (late arrivals are not
-- rewritten into the past). Its time is when it happened at the source.
{{sla_known}},
reached AS (
    -- One row per order in scope: when it first reached each state a rule names (order_states
    -- holds one row per order and state, so min() is that row's time). Each rule then reads its
    -- two states from the row: one grouping instead of joining `known` twice, about a third
    -- less time over a whole 320k-order store. Rules name canonical states only
    -- (queries/policy.py), one column each here (tests/test_sla.py covers every one).
    SELECT k.order_id, o.channel,
           min(k.first_at) FILTER (k.state = 'captured') AS captured,
           min(k.first_at) FILTER (k.state = 'payment_authorized') AS payment_authorized,
           min(k.first_at) FILTER (k.state = 'inventory_reserved') AS inventory_reserved,
           min(k.first_at) FILTER (k.state = 'fulfillment_released') AS fulfillment_released,
           min(k.first_at) FILTER (k.state = 'shipped') AS shipped,
           min(k.first_at) FILTER (k.state = 'picked_up') AS picked_up,
           min(k.first_at) FILTER (k.state = 'invoiced') AS invoiced,
           min(k.first_at) FILTER (k.state = 'settled') AS settled,
           min(k.first_at) FILTER (k.state = 'return_requested') AS return_requested,
           min(k.first_at) FILTER (k.state = 'return_received') AS return_received,
           min(k.first_at) FILTER (k.state = 'refund_issued') AS refund_issued,
           min(k.first_at) FILTER (k.state = 'refund_settled') AS refund_settled
    FROM known k
    JOIN orders o ON o.order_id = k.order_id
    WHERE k.state IN (SELECT from_state FROM rules UNION ALL SELECT to_state FROM rules)
      AND ($channel IS NULL OR o.channel = $channel)
      AND ($store_id IS NULL OR o.store_id = $store_id)
    GROUP BY k.order_id, o.channel
),
pairs AS (
    -- only what judging needs: names and stores are joined for the rows shown
    SELECT r.order_id, u.rule, u.to_state, u.within_s,
           CASE u.from_state
               WHEN 'captured' THEN r.captured
               WHEN 'payment_authorized' THEN r.payment_authorized
               WHEN 'inventory_reserved' THEN r.inventory_reserved
               WHEN 'fulfillment_released' THEN r.fulfillment_released
               WHEN 'shipped' THEN r.shipped
               WHEN 'picked_up' THEN r.picked_up
               WHEN 'invoiced' THEN r.invoiced
               WHEN 'settled' THEN r.settled
               WHEN 'return_requested' THEN r.return_requested
               WHEN 'return_received' THEN r.return_received
               WHEN 'refund_issued' THEN r.refund_issued
               WHEN 'refund_settled' THEN r.refund_settled END AS from_at,
           CASE u.to_state
               WHEN 'captured' THEN r.captured
               WHEN 'payment_authorized' THEN r.payment_authorized
               WHEN 'inventory_reserved' THEN r.inventory_reserved
               WHEN 'fulfillment_released' THEN r.fulfillment_released
               WHEN 'shipped' THEN r.shipped
               WHEN 'picked_up' THEN r.picked_up
               WHEN 'invoiced' THEN r.invoiced
               WHEN 'settled' THEN r.settled
               WHEN 'return_requested' THEN r.return_requested
               WHEN 'return_received' THEN r.return_received
               WHEN 'refund_issued' THEN r.refund_issued
               WHEN 'refund_settled' THEN r.refund_settled END AS to_at
    FROM reached r
    JOIN rules u ON u.channels IS NULL OR list_contains(u.channels, r.channel)
),
measured AS (
    SELECT *, epoch(coalesce(to_at, $at)) - epoch(from_at) AS elapsed_seconds
    FROM pairs
    WHERE from_at IS NOT NULL
      AND ($from_ts IS NULL OR from_at >= $from_ts)
      AND ($to_ts IS NULL OR from_at < $to_ts)
),
judged AS (
    SELECT *,
           CASE WHEN to_at IS NOT NULL AND elapsed_seconds <= within_s THEN 'met'
                WHEN to_at IS NOT NULL THEN 'breached'
                WHEN elapsed_seconds > within_s THEN 'open'
                ELSE 'pending' END AS status
    FROM measured
)
