-- The DuckDB-native fast path for CloudEvents JSON Lines (collectors/fastpath.py).
-- Every line of the file is read raw, with its 1-based line number, parsed once with
-- json_transform and turned into the canonical `events` columns exactly as
-- collectors/cloudevents.py does. `fast` is false for every line this SQL cannot take
-- with certainty (invalid or lax JSON, arrays, data_base64, unusual types or shapes);
-- those lines go to the Python parser, so rejects keep their file, line and reason.
-- Placeholders: /*STRUCTURE*/ (json_transform structure), /*STATE*/ (type -> state),
-- /*ORDER_ID*/ and /*ORDER_ID_OK*/ (the policy's correlation paths).
CREATE OR REPLACE TEMP TABLE fastpath_stage AS
WITH raw AS (
    SELECT ordinality AS line_no, line
    FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '',
                  header = false, auto_detect = false, strict_mode = false, ignore_errors = true,
                  new_line = '\n', max_line_size = 2097152)
         WITH ORDINALITY
), parsed AS (
    SELECT line_no, line,
           CASE WHEN starts_with(line, '{') AND ends_with(line, '}')
                     -- yyjson takes trailing commas and NaN/Infinity, orjson refuses them
                     AND NOT contains(line, ',}') AND NOT contains(line, ',]')
                     AND NOT ((contains(line, ', ') OR contains(line, chr(44) || chr(9)))
                              AND regexp_matches(line, ',\s*[\]}]'))
                     AND NOT ((contains(line, 'NaN') OR contains(line, 'nan')
                               OR contains(line, 'NAN') OR contains(line, 'Inf')
                               OR contains(line, 'INF') OR contains(line, ':inf')
                               OR contains(line, ':-inf') OR contains(line, ': inf')
                               OR contains(line, ',inf') OR contains(line, '[inf'))
                              AND regexp_matches(line, '(?i)[:,\[]\s*[-+]?(nan|inf)'))
                THEN json_transform(CASE WHEN json_valid(line) THEN line END, /*STRUCTURE*/) END AS e
    FROM raw
), shaped AS (
    SELECT line_no, line, e,
           fastpath_str(e.specversion) AS specversion, fastpath_str(e.id) AS event_id,
           fastpath_str(e.source) AS source, fastpath_str(e.type) AS type,
           fastpath_str(e.time) AS time_text, fastpath_str(e.recordedtime) AS recorded_text,
           fastpath_str(e.traceparent) AS tp_text,
           lower(fastpath_str(e.traceparent)) AS tp
    FROM parsed
)
SELECT line_no,
       coalesce(e IS NOT NULL
       AND specversion = '1.0' AND event_id <> '' AND source <> '' AND type <> ''
       AND NOT contains(source, '://')
       AND e.data_base64 IS NULL
       AND fastpath_is_str(e.channel)
       AND fastpath_is_time(e.time, time_text) AND fastpath_is_time(e.recordedtime, recorded_text)
       AND (e.traceparent IS NULL OR (length(tp_text) = 55 AND regexp_full_match(
            tp, '[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}')))
       AND fastpath_is_str(e.data.order_name) AND fastpath_is_str(e.data.customer_email)
       AND fastpath_is_str(e.data.store_id) AND fastpath_is_str(e.data.sku)
       AND fastpath_is_str(e.data.currency) AND fastpath_is_str(e.data.movement_id)
       AND fastpath_is_str(e.data.kind) AND fastpath_is_str(e.data.system)
       AND fastpath_is_quantity(e.data.quantity) AND fastpath_is_amount(e.data.amount)
       AND /*ORDER_ID_OK*/, false) AS fast,
       event_id, source, type,
       CASE type /*STATE*/ END AS state,
       CASE lower(split_part(trim(source, '/'), '/', 1))
           WHEN 'pos' THEN 'pos' WHEN 'shopify' THEN 'ecommerce' WHEN 'storefront' THEN 'ecommerce'
           WHEN 'ecommerce' THEN 'ecommerce' WHEN 'erp' THEN 'erp' WHEN 'wms' THEN 'wms'
           WHEN 'payments' THEN 'payment' WHEN 'payment' THEN 'payment'
           WHEN 'middleware' THEN 'middleware' END AS system,
       fastpath_text(e.channel) AS channel,
       /*ORDER_ID*/ AS order_id,
       fastpath_text(e.data.order_name) AS order_name,
       fastpath_text(e.data.customer_email) AS customer_email,
       fastpath_text(e.data.store_id) AS store_id,
       fastpath_text(e.data.sku) AS sku,
       fastpath_quantity(e.data.quantity) AS quantity,
       fastpath_amount(e.data.amount) AS amount,
       fastpath_text(e.data.currency) AS currency,
       fastpath_text(e.data.movement_id) AS movement_id,
       fastpath_text(e.data.kind) AS movement_kind,
       fastpath_text(e.data.system) AS applied_system,
       TRY_CAST(time_text AS TIMESTAMPTZ) AS occurred_at,
       TRY_CAST(recorded_text AS TIMESTAMPTZ) AS recorded_at,
       fastpath_trace_valid(tp) AS traceparent_valid,
       CASE WHEN fastpath_trace_valid(tp) THEN substr(tp, 4, 32) END AS trace_id,
       CASE WHEN fastpath_trace_valid(tp) THEN substr(tp, 37, 16) END AS parent_span_id,
       tp_text AS traceparent,
       line AS payload
FROM shaped
