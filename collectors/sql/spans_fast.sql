-- The DuckDB-native fast path for OTLP JSON lines (collectors/fastpath_otlp.py): for the lines of
-- fastpath_otlp_lines (line_no, line), the `spans` rows collectors/otlp.py would store, one per
-- span with its line_no and `ok`, false when any part of it is a shape this SQL cannot take with
-- certainty (ids that are not plain hex, unusual values or times, a key twice among attributes,
-- …). A line that is not JSON this SQL trusts (otlp_unsure_line), or whose resourceSpans or
-- scopeSpans are not what Python would surely read, gives one row with ok false; a line without
-- any span gives no row. The caller keeps the lines all of whose rows are ok and leaves every
-- other line to Python, so its rows, rejects and counts are Python's.
-- Attributes are read as structs and written as JSON by DuckDB (otlp_map, to_json), checked to be
-- the text orjson writes (otlp_written_ok).
-- Placeholders: STRUCTURE (json_transform structure), ORDER_ID and MESSAGE_ID (the policy's
-- correlation paths, on `attribute_map` and `resource_map`).
WITH parsed AS (
    SELECT line_no, line,
           CASE WHEN NOT otlp_unsure_line(line) THEN TRY(json_transform(line, /*STRUCTURE*/)) END AS d
    FROM fastpath_otlp_lines
), resources AS (
    SELECT line_no, line,
           unnest(coalesce(d.resourceSpans, [NULL])) AS rs,  -- a line Python reads: one bad row
           generate_subscripts(coalesce(d.resourceSpans, [NULL]), 1) AS rs_i
    FROM parsed
), resource_facts AS (
    SELECT line_no, rs_i, rs,
           otlp_kv_ok(rs.resource.attributes) AS res_kv_ok,
           -- scopeSpans, else the legacy list when scopeSpans is surely absent; scope, else
           -- instrumentationLibrary, unless a "scope" member might be a JSON null.
           CASE WHEN rs.scopeSpans IS NOT NULL THEN rs.scopeSpans
                WHEN NOT contains(line, '"scopeSpans"') THEN rs.instrumentationLibrarySpans
           END AS scopes,
           NOT contains(line, '"scope"') AS legacy_scope_ok
    FROM resources
), resource_maps AS (
    SELECT *, CASE WHEN res_kv_ok THEN otlp_map(rs.resource.attributes) END AS resource_map
    FROM resource_facts
), scopes AS (
    SELECT line_no, rs_i, resource_map, to_json(resource_map) AS res_json,
           fastpath_str(map_extract_value(resource_map, 'service.name')) AS service,
           rs IS NOT NULL AND scopes IS NOT NULL AND res_kv_ok
           AND otlp_written_ok(to_json(resource_map)) AS res_ok,
           legacy_scope_ok,
           unnest(coalesce(scopes, [NULL])) AS ss,
           generate_subscripts(coalesce(scopes, [NULL]), 1) AS ss_i
    FROM resource_maps
), spans AS (
    SELECT line_no, rs_i, ss_i, resource_map, res_json, service,
           res_ok AND ss.spans IS NOT NULL
           AND (ss.scope IS NOT NULL OR ss.instrumentationLibrary IS NULL OR legacy_scope_ok)
           AS scope_ok,
           fastpath_str(coalesce(ss.scope, ss.instrumentationLibrary).name) AS scope,
           unnest(coalesce(ss.spans, [NULL])) AS sp,
           generate_subscripts(coalesce(ss.spans, [NULL]), 1) AS sp_i
    FROM scopes
), extras AS (
    -- Events, and links of unusual shapes, which few spans have: worked out apart, since the
    -- SQL that reads them item by item costs much even for the rows that skip it.
    SELECT line_no, rs_i, ss_i, sp_i,
           CASE WHEN sp.events IS NULL THEN '[]' ELSE otlp_events(sp.events) END AS span_events,
           coalesce(otlp_plain_links(sp.links), otlp_links(sp.links)) AS links
    FROM spans
    WHERE sp.events IS NOT NULL OR (sp.links IS NOT NULL AND otlp_plain_links(sp.links) IS NULL)
), items AS (
    SELECT s.*,
           otlp_kv_ok(sp.attributes) AS kv_ok,
           CASE WHEN starts_with(sp.status, '{') AND sp.status <> '{}'
                THEN json_transform(sp.status, '{"code": "JSON", "message": "JSON"}') END AS status,
           CASE WHEN starts_with(sp.status, '{') AND sp.status <> '{}'
                THEN json_keys(sp.status) END AS status_keys,
           otlp_hex_id(sp.traceId, 16) AS trace_id,
           otlp_hex_id(sp.spanId, 8) AS span_id,
           otlp_nanos(sp.startTimeUnixNano) AS start_nanos,
           otlp_nanos(sp.endTimeUnixNano) AS end_nanos,
           CASE WHEN sp.events IS NULL THEN '[]' ELSE x.span_events END AS span_events,
           CASE WHEN sp.links IS NULL THEN '[]'
                ELSE coalesce(otlp_plain_links(sp.links), x.links) END AS links
    FROM spans AS s LEFT JOIN extras AS x USING (line_no, rs_i, ss_i, sp_i)
), maps AS (
    SELECT *, CASE WHEN kv_ok THEN otlp_map(sp.attributes) END AS attribute_map
    FROM items
), objects AS (
    SELECT *, to_json(attribute_map) AS attributes,
           otlp_micros(start_nanos) AS start_micros, otlp_micros(end_nanos) AS end_micros
    FROM maps
)
SELECT line_no,
       coalesce(scope_ok AND kv_ok AND trace_id IS NOT NULL AND span_id IS NOT NULL
                AND (sp.parentSpanId IS NULL OR regexp_full_match(sp.parentSpanId, '"[0 ]*"')
                     OR otlp_hex_id(sp.parentSpanId, 8) IS NOT NULL)
                AND otlp_enum_ok(sp.kind)
                AND otlp_micros_ok(sp.startTimeUnixNano, start_nanos)
                AND otlp_micros_ok(sp.endTimeUnixNano, end_nanos)
                AND (status IS NULL OR (otlp_enum_ok(status.code) AND otlp_unique(status_keys)))
                AND otlp_written_ok(attributes) AND span_events IS NOT NULL AND links IS NOT NULL,
                false) AS ok,
       trace_id, span_id,
       CASE WHEN NOT regexp_full_match(sp.parentSpanId, '"[0 ]*"')
            THEN otlp_hex_id(sp.parentSpanId, 8) END AS parent_span_id,
       service,
       fastpath_str(sp.name) AS name,
       otlp_enum(sp.kind, otlp_kind_name(sp.kind)) AS kind,
       make_timestamp(start_micros)::TIMESTAMPTZ AS start_time,
       make_timestamp(end_micros)::TIMESTAMPTZ AS end_time,
       (end_micros - start_micros) / 1000 AS duration_ms,
       otlp_enum(status.code, otlp_status_name(status.code)) AS status_code,
       nullif(fastpath_str(status.message), '') AS status_message,
       scope,
       attributes::VARCHAR AS attributes,
       res_json::VARCHAR AS resource,
       span_events,
       links,
       /*ORDER_ID*/ AS order_id,
       /*MESSAGE_ID*/ AS message_id
FROM objects
