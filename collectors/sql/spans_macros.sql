-- Helpers of the OTLP JSON fast path (collectors/fastpath_otlp.py), after fastpath_macros.sql.
-- Each turns JSON text, as json_transform gives it with type JSON (written back by DuckDB), or a
-- struct it read, into what collectors/otlp.py stores, and gives NULL (or false) for any shape it
-- cannot take with certainty: the caller then leaves the whole line to Python. The JSON texts
-- built here are those orjson writes: DuckDB writes strings and numbers alike except control
-- characters (\u001A against \u001a) and doubles below 1e-5 or from 1e16 up, so those are left
-- out. Casts are TRY_CAST even behind a CASE that checked the text: the optimizer may work out a
-- cast that several columns share for every row.

-- A JSON string exactly as orjson writes it, else NULL.
CREATE OR REPLACE TEMP MACRO otlp_json_str(t) AS
    CASE WHEN regexp_full_match(t, '"[^"\\]*"') THEN t
         WHEN starts_with(t, '"') AND contains(t, '\') AND NOT contains(t, '\u00')
              AND json_valid(t) THEN t END;
-- A JSON number exactly as orjson writes it (integers of up to 16 digits, doubles in between).
CREATE OR REPLACE TEMP MACRO otlp_json_num(t) AS
    CASE WHEN regexp_full_match(t, '-?(0|[1-9][0-9]{0,15})(\.[0-9]+)?')
              AND NOT regexp_matches(t, '^-?0\.00000') THEN t END;
-- Any JSON value of those kinds (or true, false, null) as orjson writes it, else NULL.
CREATE OR REPLACE TEMP MACRO otlp_json_scalar(t) AS
    CASE WHEN t IS NULL THEN 'null'
         WHEN t IN ('true', 'false', 'null') THEN t
         ELSE coalesce(otlp_json_str(t), otlp_json_num(t)) END;
-- collectors.rows.text() of a value given as JSON text: strings that are not blank, integers
-- (also doubles with nothing after the point) as digits; anything else is no value.
CREATE OR REPLACE TEMP MACRO otlp_text(t) AS
    CASE WHEN starts_with(t, '"') THEN fastpath_text(t)::VARCHAR
         WHEN regexp_full_match(t, '-?[0-9]+') THEN t::VARCHAR
         WHEN t = '-0.0' THEN '0'
         WHEN regexp_full_match(t, '-?[0-9]+\.0') THEN substr(t, 1, length(t) - 2)::VARCHAR END;
-- rows.micros_from_nanos of fixed64 nanoseconds (decimal string or integer), NULL for no time:
-- otlp_nanos gives the digits, otlp_micros (of those) drops the last three, in BIGINT range.
CREATE OR REPLACE TEMP MACRO otlp_nanos(t) AS
    CASE WHEN regexp_full_match(t, '"[0-9]{1,19}"') THEN substr(t, 2, length(t) - 2)  -- 20 digits (past 2286): Python
         WHEN regexp_full_match(t, '[0-9]{1,19}') THEN t END;
CREATE OR REPLACE TEMP MACRO otlp_micros_of(micros) AS
    CASE WHEN micros <= 253402300799999999 THEN micros END;
CREATE OR REPLACE TEMP MACRO otlp_micros(n) AS
    CASE WHEN ltrim(n, '0') <> '' THEN
        CASE WHEN length(n) <= 3 THEN 0::BIGINT
             ELSE otlp_micros_of(TRY_CAST(left(n, length(n) - 3) AS BIGINT)) END
    END;
-- Whether that is what Python gives for `t` (with n its otlp_nanos): numbers, plain ASCII
-- strings and other types are sure (no time); fractions, exponents, huge integers and other
-- strings go to Python.
CREATE OR REPLACE TEMP MACRO otlp_micros_ok(t, n) AS
    t IS NULL OR n IS NOT NULL OR regexp_full_match(t, '-[0-9]{1,19}')
    OR t IN ('true', 'false') OR starts_with(t, '{') OR starts_with(t, '[')
    OR (regexp_full_match(t, '"[\x20-\x7e]*"') AND NOT regexp_full_match(t, '"[0-9]+"'));
-- otlp._enum: integers up to 255, decimal strings, names with or without their prefix; a
-- missing member is 0 (a JSON null, which Python reads as no value, sent the line to Python).
-- `named` is the value of the name (otlp_kind_name or otlp_status_name of the upper-cased text).
CREATE OR REPLACE TEMP MACRO otlp_enum_number(s) AS
    CASE WHEN TRY_CAST(s AS BIGINT) <= 255 THEN TRY_CAST(s AS UTINYINT) END;
CREATE OR REPLACE TEMP MACRO otlp_enum(t, named) AS
    CASE WHEN t IS NULL THEN 0
         WHEN regexp_full_match(t, '[0-9]{1,18}') THEN otlp_enum_number(t)
         WHEN regexp_full_match(t, '"[0-9]{1,18}"') THEN otlp_enum_number(substr(t, 2, length(t) - 2))
         WHEN regexp_full_match(t, '"[A-Za-z_]+"') THEN TRY_CAST(named AS UTINYINT)
    END;
-- The names of SpanKind and StatusCode (collectors.otlp), full and without their prefix.
CREATE OR REPLACE TEMP MACRO otlp_kind_name(t) AS CASE upper(substr(t, 2, length(t) - 2)) /*KIND_NAMES*/ END;
CREATE OR REPLACE TEMP MACRO otlp_status_name(t) AS CASE upper(substr(t, 2, length(t) - 2)) /*STATUS_NAMES*/ END;
CREATE OR REPLACE TEMP MACRO otlp_enum_ok(t) AS
    t IS NULL OR regexp_full_match(t, '-?[0-9]{1,18}|"[0-9]{1,18}"|"[A-Za-z_]+"')
    OR t IN ('true', 'false') OR starts_with(t, '{') OR starts_with(t, '[')
    OR (regexp_full_match(t, '-?[0-9.eE+-]+') AND NOT regexp_full_match(t, '-?[0-9]+'));
-- otlp.normalise_id of a hex id (any case); NULL for any other shape (base64, blanks, zeros).
CREATE OR REPLACE TEMP MACRO otlp_hex_id(t, size) AS
    CASE WHEN length(t) = 2 * size + 2 AND regexp_full_match(t, '"[0-9a-fA-F]+"')
              AND NOT regexp_full_match(t, '"0+"')
         THEN lower(substr(t, 2, 2 * size)) END;
-- The ISO text (as JSON) of a time in microseconds, as rows.iso_from_micros writes it.
CREATE OR REPLACE TEMP MACRO otlp_iso(micros) AS
    CASE WHEN micros IS NULL THEN 'null'
         ELSE '"' || strftime(make_timestamp(micros), '%Y-%m-%dT%H:%M:%S.%fZ') || '"' END;
-- The common attribute lists, given as JSON text: each item {"key": …, "value": {one scalar}} in
-- that order, no backslash anywhere (so no string holds a quote), numbers as orjson writes them.
-- otlp_rewrite turns each such item into `key:value`, leaving any other item as it was;
-- otlp_object_of then gives flatten's object when every item was turned, else NULL.
CREATE OR REPLACE TEMP MACRO otlp_rewrite(t) AS
    CASE WHEN t IS NULL OR t = '[]' THEN '[]'
         WHEN NOT contains(t, '\') AND NOT contains(t, '"doubleValue":0.00000')
              AND NOT contains(t, '"doubleValue":-0.00000')
         THEN regexp_replace(replace(t, '"value":{}}', '"value":{"boolValue":null}}'),
                             '/*ITEM*/', '\1:\2\3\4\5', 'g') END;
CREATE OR REPLACE TEMP MACRO otlp_object_of(rewritten) AS
    CASE WHEN NOT contains(rewritten, '{"key":') AND NOT contains(rewritten, '"value":')
         THEN '{' || substr(rewritten, 2, length(rewritten) - 2) || '}' END;
-- No key twice in a rewritten object (flatten would keep one).
CREATE OR REPLACE TEMP MACRO otlp_unique(keys) AS keys IS NULL OR len(list_distinct(keys)) = len(keys);
-- Attributes of events and links (JSON text): the common shapes only, else NULL (Python's).
CREATE OR REPLACE TEMP MACRO otlp_attributes(t) AS
    CASE WHEN otlp_unique(json_keys(otlp_object_of(otlp_rewrite(t))))
         THEN otlp_object_of(otlp_rewrite(t)) END;
-- otlp._span_events as JSON text (objects only, as Python skips the rest), NULL when unsure.
CREATE OR REPLACE TEMP MACRO otlp_event(e) AS
    CASE WHEN otlp_micros_ok(e.timeUnixNano, otlp_nanos(e.timeUnixNano))
         THEN '{"time":' || otlp_iso(otlp_micros(otlp_nanos(e.timeUnixNano))) || ',"name":'
              || otlp_json_scalar(e.name) || ',"attributes":' || otlp_attributes(e.attributes)
              || '}' END;
-- otlp._links as JSON text; a link whose ids are not plain hex (kept as received) is unsure.
CREATE OR REPLACE TEMP MACRO otlp_link(l) AS
    '{"trace_id":"' || otlp_hex_id(l.traceId, 16) || '","span_id":"' || otlp_hex_id(l.spanId, 8)
    || '","attributes":' || otlp_attributes(l.attributes) || '}';
-- A list of JSON texts as one JSON array, NULL when any is NULL.
CREATE OR REPLACE TEMP MACRO otlp_array(pieces) AS
    CASE WHEN list_position(pieces, NULL) IS NULL THEN '[' || array_to_string(pieces, ',') || ']' END;
-- The events and links of a span, given as JSON text: missing (or null) is none; a list gives
-- its objects (Python skips the rest); anything else is Python's to reject. The structures are
-- written out inside the lambdas: a macro parameter there would be a per-row value.
CREATE OR REPLACE TEMP MACRO otlp_events(ev) AS
    CASE WHEN ev IS NULL THEN '[]'
         WHEN starts_with(ev, '[') THEN otlp_array(list_transform(
             list_filter(json_transform(ev, '["JSON"]'), i -> starts_with(i, '{')),
             i -> otlp_event(json_transform(i, '{"timeUnixNano":"JSON","name":"JSON","attributes":"JSON"}'))))
    END;
-- Links of plain hex ids only (the usual shape), rewritten as text; NULL for any other shape.
CREATE OR REPLACE TEMP MACRO otlp_plain_links(ls) AS
    CASE WHEN regexp_full_match(ls, '\[(/*LINK*/(,/*LINK*/)*)?\]') AND NOT regexp_matches(ls, '"0{16}"|"0{32}"')
         THEN replace(replace(replace(lower(ls), '{"traceid":"', '{"trace_id":"'),
                              '","spanid":"', '","span_id":"'), '"}', '","attributes":{}}') END;
-- Links of any other shape, item by item.
CREATE OR REPLACE TEMP MACRO otlp_links(ls) AS
    CASE WHEN starts_with(ls, '[') THEN otlp_array(list_transform(
             list_filter(json_transform(ls, '["JSON"]'), i -> starts_with(i, '{')),
             i -> otlp_link(json_transform(i, '{"traceId":"JSON","spanId":"JSON","attributes":"JSON"}'))))
    END;
-- otlp.any_value of an AnyValue read as a struct (each member as json_transform gives it, intValue
-- as text): sure when it has at most one scalar member and an intValue that is a plain integer;
-- a bare value, a JSON null member, a non-string key were sent to Python by otlp_unsure_line.
CREATE OR REPLACE TEMP MACRO otlp_value_ok(v) AS
    v IS NULL OR ((v.stringValue IS NOT NULL)::INT + (v.intValue IS NOT NULL)::INT
                  + (v.doubleValue IS NOT NULL)::INT + (v.boolValue IS NOT NULL)::INT
                  + (v.bytesValue IS NOT NULL)::INT <= 1
                  AND v.arrayValue IS NULL AND v.kvlistValue IS NULL
                  AND (v.intValue IS NULL OR TRY_CAST(v.intValue AS BIGINT)::VARCHAR = v.intValue));
CREATE OR REPLACE TEMP MACRO otlp_value(v) AS
    coalesce(v.stringValue, to_json(TRY_CAST(v.intValue AS BIGINT)), v.doubleValue, v.boolValue,
             v.bytesValue);
-- A KeyValue list (struct items) as otlp.flatten's map when every item is sure and no key
-- repeats (flatten keeps the first key's place and the last value), else NULL.
CREATE OR REPLACE TEMP MACRO otlp_kv_ok(kvs) AS
    kvs IS NULL OR (len(list_distinct(list_transform(list_filter(kvs, a -> a.key IS NOT NULL), a -> a.key)))
                    = len(list_filter(kvs, a -> a.key IS NOT NULL))
                    AND coalesce(list_bool_and(list_transform(kvs, a -> otlp_value_ok(a.value))), true));
CREATE OR REPLACE TEMP MACRO otlp_map(kvs) AS
    map_from_entries(list_transform(list_filter(coalesce(kvs, []), a -> a.key IS NOT NULL),
                                    a -> {'k': a.key, 'v': otlp_value(a.value)}));
-- Whether the JSON object DuckDB wrote is the text orjson would write: no control character
-- escapes, no double written with an exponent, below 1e-5, from 1e16 up, or beyond 64 bits.
CREATE OR REPLACE TEMP MACRO otlp_written_ok(object) AS
    NOT contains(object, '\u00')
    AND NOT regexp_matches(object, '[:,\[]-?([0-9.]+[eE]|0\.00000|[0-9]{17,}\.|[0-9]{20})');
-- A line with a shape the struct reading cannot tell apart from another: a bare attribute value,
-- a JSON null member of an AnyValue, a key that is not a string, a JSON null kind or code
-- (Python reads null and missing apart there); and the lines orjson refuses (fastpath_lax).
CREATE OR REPLACE TEMP MACRO otlp_unsure_line(line) AS
    fastpath_lax(line)
    OR regexp_matches(line, '"value"\s*:\s*[^{\s]|Value"\s*:\s*null|"key"\s*:\s*[^"\s]'
                            || '|"(kind|code)"\s*:\s*null');
