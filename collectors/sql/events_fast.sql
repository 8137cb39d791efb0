-- The DuckDB-native fast path for CloudEvents JSON Lines (collectors/fastpath.py): one row per
-- line of the file with the canonical `events` columns, computed exactly as
-- collectors/cloudevents.py does, and `fast`, false for every line this SQL cannot take with
-- certainty (invalid or lax JSON, a key twice, arrays, data_base64, unusual types or shapes);
-- those lines go to the Python parser, so rejects keep their file, line and reason.
-- events_insert.sql, events_check.sql and events_keys.sql select from it.
-- Placeholders: STRUCTURE (json_transform structure), STATE (type -> state), TOP_BITS and
-- DATA_BITS (key -> its bit, for the members read), ORDER_ID and ORDER_ID_OK (the policy's
-- correlation paths).
WITH parsed AS (
    SELECT line,
           -- json_transform and json_keys parse again; the cast keeps the text as it is.
           CASE WHEN starts_with(line, '{') AND ends_with(line, '}') AND NOT fastpath_lax(line)
                     AND NOT fastpath_deep(line)
                THEN TRY_CAST(line AS JSON) END AS doc
    FROM fastpath_lines($path, $longest)
), shaped AS (
    SELECT line, doc, e,
           fastpath_once(list_transform(keys[1], k -> /*TOP_BITS*/))
           AND fastpath_once(list_transform(keys[2], k -> /*DATA_BITS*/)) AS unique_keys,
           fastpath_str(e.specversion) AS specversion, fastpath_str(e.id) AS event_id,
           fastpath_str(e.source) AS source, fastpath_str(e.type) AS type,
           fastpath_str(e.time) AS time_text, fastpath_str(e.recordedtime) AS recorded_text,
           fastpath_str(e.traceparent) AS tp_text,
           lower(fastpath_str(e.traceparent)) AS tp
    FROM (SELECT line, doc, json_transform(doc, /*STRUCTURE*/) AS e,
                 json_keys(doc, ['$', '$.data']) AS keys
          FROM parsed)
)
SELECT line,
       coalesce(e IS NOT NULL AND unique_keys
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
       -- collectors/cloudevents.py: without a time, the recorded time stands in
       coalesce(TRY_CAST(time_text AS TIMESTAMPTZ), TRY_CAST(recorded_text AS TIMESTAMPTZ)) AS occurred_at,
       TRY_CAST(recorded_text AS TIMESTAMPTZ) AS recorded_at,
       fastpath_trace_valid(tp) AS traceparent_valid,
       CASE WHEN fastpath_trace_valid(tp) THEN substr(tp, 4, 32) END AS trace_id,
       CASE WHEN fastpath_trace_valid(tp) THEN substr(tp, 37, 16) END AS parent_span_id,
       tp_text AS traceparent,
       doc AS payload
FROM shaped
