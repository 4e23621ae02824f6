/* Unit tests of ssd_json: the strict parser and pool-bound objects. */
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "ssd_json.h"
#include "unit.h"

#define MAX_DEPTH 8

static apr_pool_t *pool;

static json_object *parse_len(const char *text, apr_size_t len,
                              ssd_json_error_t *err)
{
    err->code = err->message = "untouched";
    return ssd_json_parse_strict(pool, text, len, MAX_DEPTH, err);
}

static json_object *parse(const char *text, ssd_json_error_t *err)
{
    return parse_len(text, strlen(text), err);
}

static void parses(const char *name, const char *text)
{
    ssd_json_error_t err;
    json_object *o = parse(text, &err);

    if (!UNIT_CHECK(o && json_object_is_type(o, json_type_object)
                    && !err.code && !err.message, name)) {
        printf("#   message: %s\n", err.message ? err.message : "NULL");
    }
}

static void refuses_len(const char *name, const char *text, apr_size_t len,
                        const char *want)
{
    ssd_json_error_t err;
    json_object *o = parse_len(text, len, &err);

    UNIT_CHECK(o == NULL && err.code && !strcmp(err.code, "invalid_json"),
               apr_pstrcat(pool, name, ": refused as invalid_json", NULL));
    UNIT_STR_EQ(err.message, want, apr_pstrcat(pool, name, ": message",
                                               NULL));
}

static void refuses(const char *name, const char *text, const char *want)
{
    refuses_len(name, text, strlen(text), want);
}

/* depth levels of {"a": ... {} ... } */
static const char *nested(int depth)
{
    char *s = apr_palloc(pool, (apr_size_t)depth * 7 + 1), *c = s;
    int i;

    for (i = 0; i < depth - 1; i++, c += 6) {
        memcpy(c, "{\"a\": ", 6);
    }
    *c++ = '{';
    memset(c, '}', (apr_size_t)depth);
    c[depth] = '\0';
    return s;
}

static void test_valid(void)
{
    ssd_json_error_t err;
    json_object *o, *v;

    o = parse("{\"domain\": \"mail.example.com\", \"is_shared\": false,"
              " \"n\": [1, 2.5, null, true, {}], \"o\": {\"k\": \"v\"}}",
              &err);
    UNIT_CHECK(o != NULL, "valid object parses");
    UNIT_CHECK(o && json_object_object_get_ex(o, "domain", &v)
               && !strcmp(json_object_get_string(v), "mail.example.com"),
               "member value read back");
    parses("empty object", "{}");
    parses("leading and trailing whitespace", " \t\r\n{ } \n\t\r ");
    parses("same key in different objects",
           "{\"a\": {\"a\": 1}, \"b\": {\"a\": 2}}");
    parses("escapes",
           "{\"s\": \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9\"}");
    parses("raw UTF-8 in a string",
           "{\"s\": \"b\xc3\xbc" "cher \xf0\x9f\x98\x80\"}");
}

static void test_malformed(void)
{
    refuses("empty body", "", "request body is empty");
    refuses("whitespace only", "  \n", "request body is empty");
    refuses("unterminated object", "{\"a\": 1", "malformed JSON at byte 7");
    refuses("missing colon", "{\"a\" 1}", "malformed JSON at byte 5");
    refuses("trailing comma", "{\"a\": 1,}", "malformed JSON at byte 8");
    refuses("single quotes", "{'a': 1}", "malformed JSON at byte 1");
    refuses("unquoted key", "{a: 1}", "malformed JSON at byte 1");
    refuses("bad literal", "{\"a\": tru}", "malformed JSON at byte 6");
    refuses("bad escape", "{\"a\": \"\\x\"}", "malformed JSON at byte 8");
    refuses("raw newline in a string", "{\"a\": \"x\ny\"}",
            "malformed JSON at byte 8");
    refuses("unterminated string", "{\"a\": \"x", "malformed JSON at byte 8");
    refuses("array at top level", "[1, 2]", "expected a JSON object");
    refuses("string at top level", "\"x\"", "expected a JSON object");
    refuses("number at top level", "42", "expected a JSON object");
    refuses("null at top level", "null", "expected a JSON object");
    refuses("trailing garbage", "{\"a\": 1} x",
            "unexpected data after the JSON object");
    refuses("second object", "{}{}", "unexpected data after the JSON object");
}

static void test_strictness(void)
{
    refuses("duplicate key", "{\"domain\": \"a.example\", \"domain\": \"b\"}",
            "duplicate key 'domain'");
    refuses("duplicate key in a nested object",
            "{\"o\": {\"x\": 1, \"y\": 2, \"x\": 3}}", "duplicate key 'x'");
    refuses("duplicate key in an object inside an array",
            "{\"l\": [{\"k\": 1, \"k\": 1}]}", "duplicate key 'k'");
    refuses("duplicate key spelt with an escape",
            "{\"domain\": 1, \"d\\u006fmain\": 2}", "duplicate key 'domain'");
    refuses("\\u0000 in a string", "{\"a\": \"x\\u0000y\"}",
            "NUL character in a string");
    refuses("\\u0000 in a key", "{\"a\\u0000b\": 1}",
            "NUL character in a string");
    refuses_len("raw NUL byte in a string", "{\"a\": \"x\0y\"}", 12,
                "NUL character in a string");
    parses("depth 8", nested(8));
    refuses("depth 9", nested(9), "nesting deeper than 8 levels");
    refuses("depth 9 through arrays", "{\"a\":[[[[[[[[1]]]]]]]]}",
            "nesting deeper than 8 levels");
}

static void test_utf8(void)
{
    refuses("invalid UTF-8 byte", "{\"a\": \"\xff\"}", "invalid UTF-8");
    refuses("invalid UTF-8 in a key", "{\"\xc3\x28\": 1}", "invalid UTF-8");
    refuses("overlong '/'", "{\"a\": \"\xc0\xaf\"}", "invalid UTF-8");
    refuses("overlong 3-byte NUL", "{\"a\": \"\xe0\x80\x80\"}",
            "invalid UTF-8");
    refuses("encoded surrogate", "{\"a\": \"\xed\xa0\x80\"}", "invalid UTF-8");
    refuses("above U+10FFFF", "{\"a\": \"\xf4\x90\x80\x80\"}",
            "invalid UTF-8");
    refuses("truncated sequence at the end", "{\"a\": \"\xe2\x82",
            "invalid UTF-8");
    refuses("lone high surrogate escape", "{\"a\": \"\\ud800\"}",
            "unpaired surrogate in a \\u escape at byte 7");
    refuses("lone low surrogate escape", "{\"a\": \"\\udc00x\"}",
            "unpaired surrogate in a \\u escape at byte 7");
    refuses("high surrogate and a non-surrogate",
            "{\"a\": \"\\ud800\\u0041\"}",
            "unpaired surrogate in a \\u escape at byte 7");
    parses("valid surrogate pair", "{\"a\": \"\\ud83d\\ude00\"}");
}

static void test_surrogate_pair_decoded(void)
{
    ssd_json_error_t err;
    json_object *o = parse("{\"a\": \"\\ud83d\\ude00\"}", &err), *v;

    UNIT_CHECK(o && json_object_object_get_ex(o, "a", &v)
               && !strcmp(json_object_get_string(v), "\xf0\x9f\x98\x80"),
               "surrogate pair decodes to U+1F600");
}

static void test_numbers(void)
{
    parses("-0", "{\"n\": -0}");
    parses("1e5", "{\"n\": 1e5}");
    parses("-1.5E-3", "{\"n\": -1.5E-3}");
    parses("0.0", "{\"n\": 0.0}");
    refuses("01", "{\"n\": 01}", "malformed JSON at byte 7");
    refuses("+1", "{\"n\": +1}", "malformed JSON at byte 6");
    refuses("1.", "{\"n\": 1.}", "malformed JSON at byte 8");
    refuses(".5", "{\"n\": .5}", "malformed JSON at byte 6");
    refuses("1e", "{\"n\": 1e}", "malformed JSON at byte 8");
    refuses("-", "{\"n\": -}", "malformed JSON at byte 7");
    refuses("NaN", "{\"n\": NaN}", "malformed JSON at byte 6");
}

static void test_serialise(void)
{
    json_object *o = ssd_json_new_object(pool);
    json_object *l = json_object_new_array();

    ssd_json_add_str(o, "url", "https://example.com/a");
    ssd_json_add_str(o, "rua", NULL);
    ssd_json_add_bool(o, "verified", 7);
    ssd_json_add_int(o, "n", -9007199254740993LL);
    json_object_array_add(l, json_object_new_string("x"));
    json_object_object_add(o, "l", l);
    UNIT_STR_EQ(ssd_json_to_string(pool, o),
                "{\"url\":\"https://example.com/a\",\"rua\":null,"
                "\"verified\":true,\"n\":-9007199254740993,\"l\":[\"x\"]}",
                "serialised plain, '/' not escaped");
    ssd_json_add_str(o, "url", "\"q\"\n");
    UNIT_STR_EQ(ssd_json_to_string(pool, o),
                "{\"url\":\"\\\"q\\\"\\n\",\"rua\":null,"
                "\"verified\":true,\"n\":-9007199254740993,\"l\":[\"x\"]}",
                "adding a key again replaces it; quotes escaped");
}

static apr_status_t count_cleanup(void *data)
{
    (*(int *)data)++;
    return APR_SUCCESS;
}

/* The pool cleanup puts the root: a reference taken before the pool goes
 * away is the only one left afterwards. */
static void test_pool_binding(void)
{
    apr_pool_t *sub;
    json_object *o;
    ssd_json_error_t err;
    int freed = 0;

    apr_pool_create(&sub, pool);
    o = ssd_json_parse_strict(sub, "{\"a\": 1}", 8, MAX_DEPTH, &err);
    json_object_get(o);
    apr_pool_cleanup_register(sub, &freed, count_cleanup,
                              apr_pool_cleanup_null);
    apr_pool_destroy(sub);
    UNIT_CHECK(freed == 1, "sub-pool destroyed");
    UNIT_CHECK(json_object_put(o) == 1, "pool cleanup released its "
               "reference (last put frees)");
}

static void test_bind(void)
{
    apr_pool_t *sub;
    json_object *l = json_object_new_array();

    apr_pool_create(&sub, pool);
    UNIT_CHECK(ssd_json_bind(sub, l) == l, "bind returns the object");
    UNIT_CHECK(ssd_json_bind(sub, NULL) == NULL, "bind accepts NULL");
    json_object_get(l);
    apr_pool_destroy(sub);
    UNIT_CHECK(json_object_put(l) == 1, "bound object put by the pool");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_valid();
    test_malformed();
    test_strictness();
    test_utf8();
    test_surrogate_pair_decoded();
    test_numbers();
    test_serialise();
    test_pool_binding();
    test_bind();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
