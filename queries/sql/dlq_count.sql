-- How many dead letters the list filters match (for "1–200 of 4,811").
WITH {{dlq_filtered}}
SELECT count(*) FROM filtered;
