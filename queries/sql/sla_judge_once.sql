-- Judge every (order, rule) in scope once, for a report that reads them twice (summary, breaches).
CREATE OR REPLACE TEMP TABLE sla_judged_once AS
WITH {{sla_judged}}
SELECT * FROM judged;
