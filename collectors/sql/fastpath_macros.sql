-- Helpers of the fast paths (collectors/fastpath.py, collectors/fastpath_otlp.py): the raw
-- lines of a file, the lines orjson would refuse although DuckDB's reader takes them, and the
-- Python coercions of collectors/rows.py for the shapes the fast paths take. `j` is a value as
-- json_transform gives it with type JSON: its JSON text, written back by DuckDB.

-- Every line of a file as it is, one row per line (an empty line is NULL). The delimiter is a
-- control character, which valid JSON never holds raw; the caller has checked that the file
-- holds none, so no line is split.
CREATE OR REPLACE TEMP MACRO fastpath_lines(path, longest) AS TABLE
    SELECT line
    FROM read_csv(path, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '',
                  header = false, auto_detect = false, strict_mode = false, ignore_errors = true,
                  new_line = '\n', max_line_size = longest, buffer_size = 16 * longest);
-- A line DuckDB's JSON reader takes but orjson refuses or reads otherwise: trailing commas,
-- NaN or Infinity, numbers beyond a double (an exponent of 100 or more, 200 digits). Strings
-- that merely look like these send a good line to Python, which is only slower. A value follows
-- ':', ',' or '[' (the line is an object): one pattern per such character lets RE2 skip to it,
-- where one pattern over all three read every byte (three times slower on 1 GB of events).
CREATE OR REPLACE TEMP MACRO fastpath_lax_value(line, after) AS
    regexp_matches(line, after || '\s*([-+]?([nN][aA][nN]|[iI][nN][fF])'
                         || '|-?[0-9]+(\.[0-9]+)?[eE]\+?0*[1-9][0-9]{2}'
                         || '|[-+]?[0-9.eE+-]*[0-9]{200})');
CREATE OR REPLACE TEMP MACRO fastpath_lax(line) AS
    regexp_matches(line, ',\s*([\]}]|[-+]?([nN][aA][nN]|[iI][nN][fF])'
                         || '|-?[0-9]+(\.[0-9]+)?[eE]\+?0*[1-9][0-9]{2}'
                         || '|[-+]?[0-9.eE+-]*[0-9]{200})')
    OR fastpath_lax_value(line, ':') OR fastpath_lax_value(line, '\[');
-- A line that might nest deeper than orjson's 1024 levels (it has more brackets than that:
-- rare in CloudEvents, so such a line simply goes to Python).
CREATE OR REPLACE TEMP MACRO fastpath_deep(line) AS
    CASE WHEN strlen(line) >= 2050  -- a CASE, so that short lines skip the counting
         THEN strlen(line) - strlen(replace(replace(line, '{', ''), '[', '')) > 1024
         ELSE false END;
-- No key the SQL reads twice in one object (orjson keeps the last value, DuckDB the first):
-- `bits` holds one bit per key read, 0 for the others, for each key json_keys listed.
CREATE OR REPLACE TEMP MACRO fastpath_once(bits) AS coalesce(list_sum(bits) = list_bit_or(bits), true);
-- A JSON string's value (else NULL). json_extract_string reads a short string faster than
-- substr(j, 2, length(j) - 2) cuts its quotes off (0.05 s against 0.08 s for 1M ids).
CREATE OR REPLACE TEMP MACRO fastpath_str(j) AS
    CASE WHEN starts_with(j, '"') THEN json_extract_string(j, '$') END;
CREATE OR REPLACE TEMP MACRO fastpath_is_str(j) AS j IS NULL OR starts_with(j, '"');
-- collectors.rows.text(): blank strings (str.isspace) are no value.
CREATE OR REPLACE TEMP MACRO fastpath_blank(s) AS
    s = '' OR ((unicode(s) <= 32 OR unicode(s) BETWEEN 133 AND 12288)
               AND regexp_full_match(s, '[\s\x0b\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+'));
CREATE OR REPLACE TEMP MACRO fastpath_text(j) AS
    CASE WHEN NOT fastpath_blank(fastpath_str(j)) THEN fastpath_str(j) END;
-- time_from_rfc3339() for the usual RFC 3339 shapes; anything else goes to Python.
CREATE OR REPLACE TEMP MACRO fastpath_is_time(j, s) AS
    j IS NULL OR (s IS NOT NULL AND substr(s, 1, 4) BETWEEN '0002' AND '9998' AND regexp_full_match(
        s, '\d{4}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?'));
-- int32(): JSON integers; true/false/objects/arrays are no value; strings and fractions to Python.
CREATE OR REPLACE TEMP MACRO fastpath_is_quantity(j) AS
    j IS NULL OR j IN ('true', 'false') OR starts_with(j, '{') OR starts_with(j, '[')
    OR regexp_full_match(j, '-?\d{1,18}');
CREATE OR REPLACE TEMP MACRO fastpath_quantity(j) AS
    CASE WHEN TRY_CAST(j AS BIGINT) BETWEEN -2147483648 AND 2147483647
         THEN TRY_CAST(j AS INTEGER) END;
-- amount(): integers of up to 16 digits, and numbers with at most two decimals that a double
-- holds exactly to the cent (15 significant digits: Python reads them as floats first).
CREATE OR REPLACE TEMP MACRO fastpath_is_amount(j) AS
    j IS NULL OR j IN ('true', 'false') OR starts_with(j, '{') OR starts_with(j, '[')
    OR regexp_full_match(j, '-?(\d{1,16}|\d{1,13}\.\d{1,2})');
CREATE OR REPLACE TEMP MACRO fastpath_amount(j) AS
    CASE WHEN regexp_full_match(j, '-?(\d{1,16}|\d{1,13}\.\d{1,2})')
         THEN TRY_CAST(j AS DECIMAL(18, 2)) END;
-- parse_traceparent() on a lower-cased plain header (other shapes go to Python).
CREATE OR REPLACE TEMP MACRO fastpath_trace_valid(tp) AS
    CASE WHEN tp IS NOT NULL THEN
        substr(tp, 1, 2) <> 'ff' AND substr(tp, 4, 32) <> repeat('0', 32)
        AND substr(tp, 37, 16) <> repeat('0', 16)
    END;
