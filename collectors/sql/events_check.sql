-- What the fast path made of each line (the LINES placeholder is events_fast.sql), kept for the
-- checks that follow when not every line was inserted: which lines it took, and the text of
-- each line it left to Python (as read).
CREATE OR REPLACE TEMP TABLE fastpath_check AS
SELECT fast, CASE WHEN NOT fast THEN coalesce(line, '') END AS slow_line
FROM (/*LINES*/)
