-- The $hours hourly buckets that end at $at (the sparkline's x axis).
hours AS (
    SELECT unnest(generate_series(1, $hours)) AS n
),
buckets AS (
    SELECT n, $at - to_hours($hours - n + 1) AS bucket_start, $at - to_hours($hours - n) AS bucket_end
    FROM hours
)
