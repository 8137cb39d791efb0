-- Helpers of the fast path: the Python coercions of collectors/rows.py, for the shapes the
-- fast path takes. `j` is a value as json_transform gives it with type JSON: its JSON text.
CREATE OR REPLACE TEMP MACRO fastpath_str(j) AS
    CASE WHEN starts_with(j, '"') THEN
        CASE WHEN contains(j, '\') THEN json_extract_string(j, '$')
             ELSE substr(j, 2, length(j) - 2) END
    END;
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
-- amount(): numbers with at most two decimals and 16 integer digits; others to Python.
CREATE OR REPLACE TEMP MACRO fastpath_is_amount(j) AS
    j IS NULL OR j IN ('true', 'false') OR starts_with(j, '{') OR starts_with(j, '[')
    OR regexp_full_match(j, '-?\d{1,16}(\.\d{1,2})?');
CREATE OR REPLACE TEMP MACRO fastpath_amount(j) AS
    CASE WHEN regexp_full_match(j, '-?\d{1,16}(\.\d{1,2})?') THEN CAST(j AS DECIMAL(18, 2)) END;
-- parse_traceparent() on a lower-cased plain header (other shapes go to Python).
CREATE OR REPLACE TEMP MACRO fastpath_trace_valid(tp) AS
    CASE WHEN tp IS NOT NULL THEN
        substr(tp, 1, 2) <> 'ff' AND substr(tp, 4, 32) <> repeat('0', 32)
        AND substr(tp, 37, 16) <> repeat('0', 16)
    END;
