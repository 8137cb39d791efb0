-- Whether `orders` and `order_states` hold any row yet (queries/rollup.py: into an empty table
-- the refreshes are plain INSERTs).
SELECT EXISTS (SELECT 1 FROM orders), EXISTS (SELECT 1 FROM order_states)
