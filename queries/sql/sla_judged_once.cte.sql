-- The judged (order, rule) pairs that sla_judge_once stored for this unit of work, in place of
-- judging them again: the SLA report's summary and breach list read the same rows.
{{sla_known}},
judged AS (SELECT * FROM sla_judged_once)