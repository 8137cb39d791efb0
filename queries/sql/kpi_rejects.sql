-- Input records quarantined in the overview's window (ingest and collect): the console says how
-- many, and `backroom rejects` lists them.
SELECT count(*)
FROM rejects
WHERE rejected_at > $at - to_hours($hours) AND rejected_at <= $at;
