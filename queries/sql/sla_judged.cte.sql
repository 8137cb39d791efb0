-- Shared CTEs: every (order, SLA rule) in scope as of $at, with its status (met, breached, open,
-- pending). A state counts as reached by $at when the middleware had recorded it by then, so a
-- report "as of" an instant gives the same answer whenever it is run (late arrivals are not
-- rewritten into the past). Its time is when it happened at the source.
{{sla_known}},
starts AS (
    -- only what judging needs: names, channels and stores are joined for the rows shown
    SELECT o.order_id, r.rule, r.to_state, r.within_s, s.first_at AS from_at
    FROM rules r
    JOIN known s ON s.state = r.from_state
    JOIN orders o ON o.order_id = s.order_id
    WHERE (r.channels IS NULL OR list_contains(r.channels, o.channel))
      AND ($channel IS NULL OR o.channel = $channel)
      AND ($store_id IS NULL OR o.store_id = $store_id)
      AND ($from_ts IS NULL OR s.first_at >= $from_ts)
      AND ($to_ts IS NULL OR s.first_at < $to_ts)
      AND ($order_id IS NULL OR o.order_id = $order_id)
),
measured AS (
    SELECT st.*, t.first_at AS to_at,
           epoch(coalesce(t.first_at, $at)) - epoch(st.from_at) AS elapsed_seconds
    FROM starts st
    LEFT JOIN known t ON t.order_id = st.order_id AND t.state = st.to_state
),
judged AS (
    SELECT *,
           CASE WHEN to_at IS NOT NULL AND elapsed_seconds <= within_s THEN 'met'
                WHEN to_at IS NOT NULL THEN 'breached'
                WHEN elapsed_seconds > within_s THEN 'open'
                ELSE 'pending' END AS status
    FROM measured
)
