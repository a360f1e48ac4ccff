/** One generated request and the kind of damage it carries. */
export interface FuzzRequest {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** What the generator aims at: the models a server serves, and its body limit. */
export interface FuzzTarget {
  classifier: string;
  generator?: string;
  bodyLimitBytes: number;
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const JSON_TYPE = { "content-type": "application/json" };

/** Values of every JSON type, including the awkward ones, for fields that expect something else. */
function oddValue(rng: Rng, depth = 0): unknown {
  const choices: Array<() => unknown> = [
    () => null,
    () => pick(rng, [true, false]),
    () => pick(rng, [0, -1, 1e308, -0.5, 2 ** 53 + 1, 1e-320]),
    () => pick(rng, ["", " ", "\u0000", "\uffff", "\ud800", "a".repeat(int(rng, 1, 5000)), "<script>", "../../etc/passwd", "%00", "💥"]),
    () => (depth < 3 ? Array.from({ length: int(rng, 0, 4) }, () => oddValue(rng, depth + 1)) : []),
    () => (depth < 3 ? { [pick(rng, ["__proto__", "constructor", "x", ""])]: oddValue(rng, depth + 1) } : {}),
  ];
  return pick(rng, choices)();
}

/** The well-formed bodies the mutations start from. */
function validBodies(target: FuzzTarget): Array<{ path: string; body: Record<string, unknown> }> {
  const bodies: Array<{ path: string; body: Record<string, unknown> }> = [
    { path: "/v1/classify", body: { model: target.classifier, input: "Win a FREE prize now" } },
    { path: "/v1/classify", body: { model: target.classifier, input: ["hello", "meeting at 3"], route: "specialist" } },
    { path: "/admin/models/" + target.classifier + "/reload", body: { version: "1" } },
    { path: "/admin/escalation", body: { enabled: true } },
    { path: "/admin/reviews/1", body: { label: "spam" } },
  ];
  if (target.generator) {
    bodies.push(
      { path: "/v1/chat/completions", body: { model: target.generator, messages: [{ role: "user", content: "hi" }], max_tokens: 2 } },
      { path: "/v1/completions", body: { model: target.generator, prompt: "Subject: hello", max_tokens: 2 } },
      {
        path: "/v1/chat/completions",
        body: { model: target.generator, messages: [{ role: "user", content: "label?" }], max_tokens: 2, response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } } },
      },
    );
  }
  return bodies;
}

/** Nested arrays or objects `depth` levels deep, as text (JSON.stringify would recurse). */
function deeplyNested(depth: number, rng: Rng): string {
  return rng() < 0.5 ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

const MUTATIONS: Record<string, (rng: Rng, base: { path: string; body: Record<string, unknown> }, target: FuzzTarget) => FuzzRequest> = {
  "bad-json": (rng, base) => {
    const text = JSON.stringify(base.body);
    const broken = pick(rng, [
      text.slice(0, int(rng, 0, text.length - 1)),
      text + pick(rng, ["}", ",", "garbage", "\u0000"]),
      text.replace(/"/, "'"),
      text.replace(/:/, ""),
      "",
      "null",
      "[]",
      "123",
      '"just a string"',
    ]);
    return { kind: "bad-json", method: "POST", path: base.path, headers: JSON_TYPE, body: Buffer.from(broken) };
  },
  "wrong-types": (rng, base) => {
    const body: Record<string, unknown> = { ...base.body };
    const keys = Object.keys(body);
    for (let i = int(rng, 1, keys.length); i > 0; i--) body[pick(rng, keys)] = oddValue(rng);
    return { kind: "wrong-types", method: "POST", path: base.path, headers: JSON_TYPE, body: Buffer.from(JSON.stringify(body)) };
  },
  "unknown-fields": (rng, base) => {
    const body = { ...base.body, [pick(rng, ["extra", "__proto__", "constructor", "Model", "inputs"])]: oddValue(rng) };
    return { kind: "unknown-fields", method: "POST", path: base.path, headers: JSON_TYPE, body: Buffer.from(JSON.stringify(body)) };
  },
  "huge-array": (rng, _base, target) => {
    const input = Array.from({ length: int(rng, 257, 50_000) }, (_, i) => (rng() < 0.5 ? `x${i}` : i));
    return { kind: "huge-array", method: "POST", path: "/v1/classify", headers: JSON_TYPE, body: Buffer.from(JSON.stringify({ model: target.classifier, input })) };
  },
  "deep-nesting": (rng, base) => {
    const nested = deeplyNested(int(rng, 100, 200_000), rng);
    const field = pick(rng, ["input", "messages", "extra", "response_format"]);
    const text = JSON.stringify({ ...base.body, [field]: "__NESTED__" }).replace('"__NESTED__"', nested);
    return { kind: "deep-nesting", method: "POST", path: base.path, headers: JSON_TYPE, body: Buffer.from(text) };
  },
  "invalid-utf8": (rng, base) => {
    const text = Buffer.from(JSON.stringify({ ...base.body, ...(typeof base.body.input === "string" ? { input: "AAAA" } : {}) }));
    const bytes = Buffer.from(text);
    const at = text.indexOf("AAAA");
    const junk = Buffer.from(pick(rng, [[0xff, 0xfe], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]]));
    if (at >= 0) junk.copy(bytes, at, 0, Math.min(junk.length, 4));
    else return { kind: "invalid-utf8", method: "POST", path: base.path, headers: JSON_TYPE, body: Buffer.concat([junk, bytes]) };
    return { kind: "invalid-utf8", method: "POST", path: base.path, headers: JSON_TYPE, body: bytes };
  },
  "nul-bytes": (rng, base, target) => {
    const input = pick(rng, ["\u0000", "spam\u0000ham", "\u0000".repeat(int(rng, 1, 10_000))]);
    return { kind: "nul-bytes", method: "POST", path: "/v1/classify", headers: JSON_TYPE, body: Buffer.from(JSON.stringify({ model: target.classifier, input, ...(rng() < 0.3 ? { model: "\u0000" } : {}) })) };
  },
  oversized: (rng, _base, target) => {
    const size = target.bodyLimitBytes + int(rng, 1, target.bodyLimitBytes);
    const body = Buffer.from(JSON.stringify({ model: target.classifier, input: "x".repeat(size) }));
    return { kind: "oversized", method: "POST", path: "/v1/classify", headers: JSON_TYPE, body };
  },
  "content-type": (rng, base) => {
    const type = pick(rng, ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "", "application/json; charset=utf-16", "application/jsonx", "*/*", "image/png"]);
    const headers: Record<string, string> = type ? { "content-type": type } : {};
    return { kind: "content-type", method: "POST", path: base.path, headers, body: Buffer.from(JSON.stringify(base.body)) };
  },
  "method-path": (rng, base) => {
    const method = pick(rng, ["GET", "PUT", "DELETE", "PATCH", "POST"]);
    const path = pick(rng, [base.path, `${base.path}/../../etc/passwd`, "/v1/classify?x=%ZZ", "/v1/%00", "/admin/reviews/abc", "/admin/reviews/-1", "/admin/models/%2e%2e/reload", "/v1/escalations?limit=-5", "/v1/escalations?limit=abc&before=x", "/admin/shadow?hours=1e9", "/" + "a".repeat(5000)]);
    return { kind: "method-path", method, path, headers: JSON_TYPE, ...(method === "GET" ? {} : { body: Buffer.from(JSON.stringify(base.body)) }) };
  },
  "bad-auth": (rng, base) => {
    const authorization = pick(rng, ["Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer " + "k".repeat(10_000), "bearer sk-\u00ff", "Bearer sk-x\tx"]);
    return { kind: "bad-auth", method: "POST", path: base.path, headers: { ...JSON_TYPE, authorization }, body: Buffer.from(JSON.stringify(base.body)) };
  },
};

export const FUZZ_KINDS = Object.keys(MUTATIONS);

/** The next malformed (or, by chance, valid) request, reproducible from the generator's state. */
export function fuzzRequest(rng: Rng, target: FuzzTarget): FuzzRequest {
  const base = pick(rng, validBodies(target));
  return MUTATIONS[pick(rng, FUZZ_KINDS)]!(rng, base, target);
}
