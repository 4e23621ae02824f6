#!/usr/bin/python3
"""Check docs/openapi.yaml, and every response the test suite received
against it (t/zz_openapi.t runs this once, with Debian's python3-yaml and
python3-jsonschema).

  openapi_check.py --spec docs/openapi.yaml --meta <OpenAPI 3.1 schema.json>
                   [--exchanges t/logs/openapi-exchanges.jsonl]
                   [--summary out.json]

1. The document: plain JSON data once loaded (string keys, no YAML dates),
   valid against the OpenAPI 3.1 meta-schema, every Schema Object valid
   against the JSON Schema 2020-12 meta-schema and free of keywords that
   neither 2020-12 nor the OAS base vocabulary knows (a typo such as
   "requried" would otherwise pass silently), every $ref resolvable, every
   operation answering with documented statuses only.
2. Each recorded exchange (one JSON line, see ScaiSend::Test): the request
   path is matched against the document's path templates under their
   server URL (a path item's own "servers" first, then the document's),
   literal segments before templated ones; then the operation by method
   (HEAD is answered as GET, without a body).  Then the response by status
   (exact, then 4XX-style range, then "default"): a status the operation
   does not list is a mismatch.  Then Content-Type (one of the response's
   media types; no content documented means an empty body), the required
   response headers and their schemas, and the body against the media
   type's schema (JSON: parsed strictly, UTF-8, no duplicate keys).
   Two rules of the document's extensions cover what no path lists:
   - x-unknown-route: a path under the API base that matches no template
     (the router's 404 not_found; 401/403 come first) -- its responses.
   - x-undocumented-method: a documented path asked with a method it does
     not document (405 with an Allow header naming exactly the documented
     methods, or the earlier 401/403).
   Paths outside every server URL (static files, the deliberately
   misconfigured mount of the suite) are counted and not checked.

Exit status: 0 all matched, 1 a response mismatched, 2 the document is
invalid, 3 the inputs could not be read.
"""

import argparse
import base64
import collections
import datetime
import json
import re
import sys

import jsonschema
import jsonschema.exceptions
import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")

# JSON Schema 2020-12 keywords (all vocabularies) and the OAS base ones.
SCHEMA_KEYWORDS = {
    "$id", "$schema", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor",
    "$vocabulary", "$comment", "$defs",
    "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    "dependentSchemas", "prefixItems", "items", "contains", "properties",
    "patternProperties", "additionalProperties", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties",
    "type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum",
    "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
    "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
    "maxProperties", "minProperties", "required", "dependentRequired",
    "title", "description", "default", "deprecated", "readOnly",
    "writeOnly", "examples", "format", "contentEncoding",
    "contentMediaType", "contentSchema",
    "discriminator", "xml", "externalDocs", "example",
}
# keywords whose value is a map of name -> schema / a schema / schemas
SCHEMA_MAPS = {"properties", "patternProperties", "$defs",
               "dependentSchemas"}
SCHEMA_ONE = {"not", "if", "then", "else", "items", "contains",
              "additionalProperties", "propertyNames", "unevaluatedItems",
              "unevaluatedProperties", "contentSchema"}
SCHEMA_LIST = {"allOf", "anyOf", "oneOf", "prefixItems"}

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"([Zz]|[+-]\d{2}:\d{2})$")


def is_date_time(value):
    if not isinstance(value, str):
        return True
    m = RFC3339.match(value)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    try:
        datetime.datetime(y, mo, d, h, mi, min(s, 59))
    except ValueError:
        return False
    return s <= 60


def is_uri(value):
    return not isinstance(value, str) or bool(
        re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$", value))


def is_uri_reference(value):
    return not isinstance(value, str) or not re.search(r"[\s<>\"]", value)


def format_checker():
    fc = jsonschema.FormatChecker()
    fc.checks("date-time")(is_date_time)
    fc.checks("uri")(is_uri)
    fc.checks("uri-reference")(is_uri_reference)
    return fc


def no_remote(uri):
    raise jsonschema.RefResolutionError("remote reference not allowed: "
                                        + uri)


def json_path(parts):
    out = "$"
    for p in parts:
        out += "[%d]" % p if isinstance(p, int) else "." + str(p)
    return out


# --------------------------------------------------------------------------
# the document

class DocProblems(list):
    def add(self, where, message):
        self.append("%s: %s" % (where, message))


def plain_json(node, where, problems):
    """YAML may hold what JSON cannot (int keys, dates): report it."""
    if isinstance(node, dict):
        for k, v in node.items():
            if not isinstance(k, str):
                problems.add(where, "key %r is not a string (quote it)" % (k,))
            plain_json(v, "%s/%s" % (where, k), problems)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            plain_json(v, "%s/%d" % (where, i), problems)
    elif not (node is None or isinstance(node, (str, bool, int, float))):
        problems.add(where, "%r is not a JSON value (quote it)" % (node,))


def walk_schema(schema, where, problems, on_schema):
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        problems.add(where, "a schema must be an object or a boolean")
        return
    on_schema(schema, where)
    for k, v in schema.items():
        if k.startswith("x-"):
            continue
        if k not in SCHEMA_KEYWORDS:
            problems.add(where, "unknown schema keyword %r" % k)
            continue
        if k in SCHEMA_MAPS and isinstance(v, dict):
            for name, sub in v.items():
                walk_schema(sub, "%s/%s/%s" % (where, k, name), problems,
                            on_schema)
        elif k in SCHEMA_ONE:
            walk_schema(v, "%s/%s" % (where, k), problems, on_schema)
        elif k in SCHEMA_LIST and isinstance(v, list):
            for i, sub in enumerate(v):
                walk_schema(sub, "%s/%s/%d" % (where, k, i), problems,
                            on_schema)


def schema_objects(doc):
    """(where, schema) of every Schema Object of the document."""
    found = []

    def media(content, where):
        for mt, m in (content or {}).items():
            if isinstance(m, dict) and "schema" in m:
                found.append(("%s/%s/schema" % (where, mt), m["schema"]))

    def headers(hs, where):
        for name, h in (hs or {}).items():
            if isinstance(h, dict) and "schema" in h:
                found.append(("%s/%s/schema" % (where, name), h["schema"]))

    def params(ps, where):
        for i, p in enumerate(ps or []):
            if isinstance(p, dict) and "schema" in p:
                found.append(("%s/%d/schema" % (where, i), p["schema"]))

    def response(r, where):
        if isinstance(r, dict):
            media(r.get("content"), where + "/content")
            headers(r.get("headers"), where + "/headers")

    def operation(op, where):
        params(op.get("parameters"), where + "/parameters")
        rb = op.get("requestBody")
        if isinstance(rb, dict):
            media(rb.get("content"), where + "/requestBody/content")
        for code, r in (op.get("responses") or {}).items():
            response(r, "%s/responses/%s" % (where, code))

    def path_items(items, where):
        for p, item in (items or {}).items():
            if not isinstance(item, dict):
                continue
            params(item.get("parameters"), "%s/%s/parameters" % (where, p))
            for m in METHODS:
                if isinstance(item.get(m), dict):
                    operation(item[m], "%s/%s/%s" % (where, p, m))

    path_items(doc.get("paths"), "#/paths")
    path_items(doc.get("webhooks"), "#/webhooks")
    comp = doc.get("components") or {}
    for name, s in (comp.get("schemas") or {}).items():
        found.append(("#/components/schemas/" + name, s))
    for name, r in (comp.get("responses") or {}).items():
        response(r, "#/components/responses/" + name)
    params(list((comp.get("parameters") or {}).values()),
           "#/components/parameters")
    headers(comp.get("headers"), "#/components/headers")
    for ext in ("x-unknown-route", "x-undocumented-method"):
        for code, r in ((doc.get(ext) or {}).get("responses") or {}).items():
            response(r, "#/%s/responses/%s" % (ext, code))
    return found


def pointer_get(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError("only local references are used: " + ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_refs(node, doc, where, problems):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                pointer_get(doc, ref)
            except (KeyError, IndexError, ValueError) as e:
                problems.add(where, "unresolvable $ref %s (%s)" % (ref, e))
        for k, v in node.items():
            check_refs(v, doc, "%s/%s" % (where, k), problems)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_refs(v, doc, "%s/%d" % (where, i), problems)


def check_document(doc, meta):
    problems = DocProblems()
    plain_json(doc, "#", problems)
    if problems:
        return problems
    validator = jsonschema.Draft202012Validator(
        meta, resolver=jsonschema.RefResolver.from_schema(
            meta, handlers={"http": no_remote, "https": no_remote}))
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        problems.add("#" + "".join("/" + str(p) for p in e.absolute_path),
                     "meta-schema: " + e.message[:300])
    check_refs(doc, doc, "#", problems)

    def on_schema(schema, where):
        pass

    for where, schema in schema_objects(doc):
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            problems.add(where, "not a valid JSON Schema 2020-12 schema: "
                         + e.message[:300])
        walk_schema(schema, where, problems, on_schema)
    for p, item in (doc.get("paths") or {}).items():
        for m in METHODS:
            op = item.get(m) if isinstance(item, dict) else None
            if isinstance(op, dict) and not op.get("responses"):
                problems.add("#/paths/%s/%s" % (p, m), "no responses")
    return problems


# --------------------------------------------------------------------------
# the exchanges

class Spec:
    def __init__(self, doc):
        self.doc = doc
        self.fc = format_checker()
        self.resolver = jsonschema.RefResolver(
            "urn:scaisend:openapi", doc,
            handlers={"http": no_remote, "https": no_remote})
        self.base = self.server_path(doc.get("servers"))
        self.routes = []
        for template, item in (doc.get("paths") or {}).items():
            base = self.server_path(item.get("servers")) \
                if item.get("servers") else self.base
            full = base.rstrip("/") + template
            segs = full.strip("/").split("/")
            rx = "^/" + "/".join(
                "[^/]+" if re.fullmatch(r"\{[^}]+\}", s) else re.escape(s)
                for s in segs) + "$"
            literals = sum(1 for s in segs if not s.startswith("{"))
            self.routes.append((re.compile(rx), -literals, template, item))
        self.routes.sort(key=lambda r: (r[1], r[2]))

    @staticmethod
    def server_path(servers):
        if not servers:
            return "/"
        url = servers[0]["url"]
        for name, var in (servers[0].get("variables") or {}).items():
            url = url.replace("{%s}" % name, var["default"])
        url = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url, flags=re.I)
        return url or "/"

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = pointer_get(self.doc, node["$ref"])
        return node

    def route(self, path):
        for rx, _, template, item in self.routes:
            if rx.match(path):
                return template, item
        return None, None

    def under_base(self, path):
        base = self.base.rstrip("/")
        return path == base or path.startswith(base + "/")

    def validate(self, instance, schema):
        """[(JSON path, message, rule)] of the instance's mismatches (rule:
        the failing keyword and its place in the schema, for grouping)."""
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver,
                                            format_checker=self.fc)
        out = []
        for e in leaf_errors(v.iter_errors(instance)):
            msg = e.message
            if len(msg) > 300:
                msg = msg[:297] + "..."
            rule = "%s at %s" % (e.validator, "/".join(
                str(x) for x in e.schema_path))
            out.append((json_path(e.absolute_path), msg, rule))
        return sorted(out)


def leaf_errors(errors):
    """The errors themselves, but inside an anyOf / oneOf the errors of the
    alternative that came closest: not a mere type mismatch (the "null"
    branch of a nullable object), the deepest."""
    for e in errors:
        if e.validator not in ("anyOf", "oneOf") or not e.context:
            yield e
            continue
        alts = collections.defaultdict(list)
        for c in e.context:
            alts[c.relative_schema_path[0]].append(c)

        def score(errs):
            type_only = all(c.validator == "type" and
                            len(c.absolute_path) == len(e.absolute_path)
                            for c in errs)
            return (not type_only, max(len(c.absolute_path) for c in errs))
        yield from leaf_errors(max(alts.values(), key=score))


def pick_response(responses, status):
    code = str(status)
    if code in responses:
        return code
    if code[0] + "XX" in responses:
        return code[0] + "XX"
    return "default" if "default" in responses else None


def media_type(ct):
    return (ct or "").split(";")[0].strip().lower()


def media_match(mt, content):
    for key in content:
        k = key.lower()
        if k == mt or k == "*/*" or (k.endswith("/*")
                                     and mt.startswith(k[:-1])):
            return key
    return None


def no_duplicate_keys(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError("duplicate key %r" % k)
        seen[k] = v
    return seen


def header_value(schema, raw):
    t = schema.get("type") if isinstance(schema, dict) else None
    if t == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def check_exchange(spec, ex, problems):
    """Returns the name of the rule or operation the exchange was checked
    under, or None when it is outside the document."""
    path, method = ex["path"], ex["method"].lower()
    template, item = spec.route(path)
    head = method == "head"
    if template is None:
        if not spec.under_base(path):
            return None
        rule = spec.doc.get("x-unknown-route") or {}
        name, responses, allow = "(unknown route)", rule.get("responses"), None
    else:
        item = spec.deref(item)
        op = item.get(method) or (item.get("get") if head else None)
        if op is None:
            rule = spec.doc.get("x-undocumented-method") or {}
            name = "%s %s (undocumented method)" % (ex["method"], template)
            responses = rule.get("responses")
            allow = sorted(m.upper() for m in METHODS if m in item)
        else:
            shown = "GET" if head and "head" not in item else ex["method"]
            name = "%s %s" % (shown, template)
            responses, allow = op.get("responses"), None
    where = "%s -> %d" % (name, ex["status"])
    if not responses:
        problems.append((where, "$", "no responses documented"))
        return name
    key = pick_response(responses, ex["status"])
    if key is None:
        problems.append((where, "$", "status %d is not documented here "
                         "(documented: %s)" % (ex["status"],
                                               ", ".join(sorted(responses)))))
        return name
    resp = spec.deref(responses[key])
    check_headers(spec, ex, resp, allow, where, problems)
    check_body(spec, ex, resp, head, where, problems)
    return name


def check_headers(spec, ex, resp, allow, where, problems):
    got = {k.lower(): v for k, v in (ex.get("headers") or {}).items()}
    for name, h in (resp.get("headers") or {}).items():
        h = spec.deref(h)
        raw = got.get(name.lower())
        if raw is None:
            if h.get("required"):
                problems.append((where, "header " + name,
                                 "required header missing"))
            continue
        schema = h.get("schema")
        if schema is not None:
            for _, msg, rule in spec.validate(
                    header_value(spec.deref(schema), raw), schema):
                problems.append((where, "header " + name, msg, rule))
    if allow is not None and ex["status"] == 405:
        sent = sorted(m.strip().upper()
                      for m in (got.get("allow") or "").split(",")
                      if m.strip())
        if sent != allow:
            problems.append((where, "header Allow",
                             "Allow is %r, the document has %r"
                             % (got.get("allow"), ", ".join(allow))))


def check_body(spec, ex, resp, head, where, problems):
    content = resp.get("content")
    length = ex.get("body_length", 0)
    if "body_b64" not in ex:
        problems.append((where, "$", "body of %d bytes not recorded" % length))
        return
    body = base64.b64decode(ex["body_b64"])
    if not content:
        if body:
            problems.append((where, "$", "no content documented, got %d "
                             "bytes of %s" % (len(body), ex.get("content_type"))))
        return
    mt = media_type(ex.get("content_type"))
    key = media_match(mt, content)
    if key is None:
        problems.append((where, "Content-Type", "%r is not one of %s" % (
            ex.get("content_type"), ", ".join(content))))
        return
    if head:
        if body:
            problems.append((where, "$", "a HEAD answer with a body"))
        return
    schema = (content[key] or {}).get("schema")
    if schema is None:
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append((where, "$", "body is not UTF-8: %s" % e))
        return
    if mt == "application/json" or mt.endswith("+json"):
        try:
            instance = json.loads(text, object_pairs_hook=no_duplicate_keys)
        except ValueError as e:
            problems.append((where, "$", "body is not JSON: %s" % e))
            return
    else:
        instance = text
    problems.extend((where, jpath, msg, rule)
                    for jpath, msg, rule in spec.validate(instance, schema))


def load_known(path):
    """Known deviations: one regex a line ('#' comments), matched against
    "<METHOD> <path> -> <status> <where>: <message>"."""
    known = []
    if path:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#"):
                    known.append(re.compile(line))
    return known


def check_exchanges(spec, path, known):
    counts = collections.Counter()
    outside = collections.Counter()
    mismatches = collections.OrderedDict()
    known_seen = collections.OrderedDict()
    total = 0
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            ex = json.loads(line)
            total += 1
            problems = []
            name = check_exchange(spec, ex, problems)
            if name is None:
                outside["/" + ex["path"].lstrip("/").split("/")[0]] += 1
                continue
            counts["%s -> %d" % (name, ex["status"])] += 1
            for problem in problems:
                where, jpath, msg = problem[:3]
                rule = problem[3] if len(problem) > 3 else msg
                text = "%s %s -> %d %s: %s" % (ex["method"], ex["path"],
                                               ex["status"], jpath, msg)
                hit = next((k for k in known if k.search(text)), None)
                # one entry per route, status, place (array indices folded)
                # and message
                k = (where, re.sub(r"\[\d+\]", "[*]", jpath), rule)
                table = known_seen if hit else mismatches
                entry = table.setdefault(k, {"count": 0, "first": None})
                entry["count"] += 1
                if entry["first"] is None:
                    entry["message"] = msg
                    entry["first"] = {"t": ex.get("t"), "method": ex["method"],
                                      "url": ex.get("url"), "line": n,
                                      "json_path": jpath}
    return total, counts, outside, mismatches, known_seen


def report(kind, table, out):
    for (where, jpath, _), e in table.items():
        f, msg = e["first"], e["message"]
        out.append({"where": where, "json_path": jpath, "message": msg,
                    "count": e["count"], "first": f})
        print("openapi: %s %s at %s: %s (%d time(s); first: %s %s in %s, "
              "at %s, exchange line %d)" % (kind, where, jpath, msg,
                                            e["count"], f["method"], f["url"],
                                            f["t"], f["json_path"], f["line"]))


def coverage(spec, counts):
    seen = collections.defaultdict(set)
    for key in counts:
        name, _, status = key.rpartition(" -> ")
        seen[name].add(status)
    missing = []
    for template, item in (spec.doc.get("paths") or {}).items():
        item = spec.deref(item)
        for m in METHODS:
            if m not in item:
                continue
            name = "%s %s" % (m.upper(), template)
            for code in (item[m].get("responses") or {}):
                if code not in seen.get(name, ()):
                    missing.append("%s -> %s" % (name, code))
    return missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--exchanges")
    ap.add_argument("--summary")
    ap.add_argument("--known", help="file of known deviations (regexes)")
    a = ap.parse_args()
    summary = {"document_problems": [], "exchanges": 0, "checked": 0,
               "mismatches": [], "known": [], "by_route": {}, "outside": {},
               "never_seen": []}
    try:
        with open(a.spec, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        with open(a.meta, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print("openapi: cannot read the inputs: %s" % e)
        return 3
    problems = check_document(doc, meta)
    summary["document_problems"] = list(problems)
    for p in problems:
        print("openapi: document: " + p)
    status = 2 if problems else 0
    if a.exchanges and not problems:
        spec = Spec(doc)
        total, counts, outside, mism, known = check_exchanges(
            spec, a.exchanges, load_known(a.known))
        summary.update(exchanges=total, checked=sum(counts.values()),
                       by_route=dict(sorted(counts.items())),
                       outside=dict(outside),
                       never_seen=coverage(spec, counts), known=[])
        report("MISMATCH", mism, summary["mismatches"])
        report("known deviation:", known, summary["known"])
        print("openapi: %d exchanges, %d checked against the document, %d "
              "outside it (%s)" % (total, summary["checked"],
                                   sum(outside.values()),
                                   ", ".join("%s: %d" % kv for kv in
                                             sorted(outside.items()))
                                   or "none"))
        for k, v in sorted(counts.items()):
            print("openapi:   %6d  %s" % (v, k))
        for k in summary["never_seen"]:
            print("openapi: documented, not seen in this run: " + k)
        if mism:
            status = 1
    if a.summary:
        with open(a.summary, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=1, sort_keys=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
