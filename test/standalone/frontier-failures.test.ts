import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { callCost, tokenCount } from "../../server/escalation/call-cost.js";
import { loadTokenCounter } from "../../server/escalation/token-count.js";
import { describeAnswer, fromSdkError, redact, ResponseTooLargeError } from "../../server/escalation/frontier-error.js";
import { boundedFetch } from "../../server/escalation/providers/bounded-fetch.js";

const price = { inputUsdPerMTok: 1, outputUsdPerMTok: 10 };
const WORST = 0.5;

describe("the cost of a call", () => {
  beforeAll(loadTokenCounter);

  it("uses the provider's counts when it gave both", () => {
    expect(callCost(price, { inputTokens: 100, outputTokens: 10 }, { inputTokens: 999, outputText: "x" }, WORST)).toEqual({
      costUsd: (100 * 1 + 10 * 10) / 1e6,
      inputTokens: 100,
      outputTokens: 10,
      usageSource: "provider",
    });
  });

  // Regression: usage with only total_tokens gave a NaN cost.
  it("counts what the provider left out: output from total_tokens, else from the answer's text", () => {
    const fromTotal = callCost(price, { totalTokens: 130 }, { inputTokens: 100, outputText: '{"label":"ham"}' }, WORST);
    expect(fromTotal).toMatchObject({ inputTokens: 100, outputTokens: 30, usageSource: "counted" });
    const fromText = callCost(price, {}, { inputTokens: 100, outputText: '{"label":"ham"}' }, WORST);
    expect(fromText).toMatchObject({ inputTokens: 100, outputTokens: countTokens('{"label":"ham"}'), usageSource: "counted" });
    expect(Number.isFinite(fromText.costUsd) && fromText.costUsd > 0).toBe(true);
  });

  it("charges the reserved worst case when not even the answer is known", () => {
    expect(callCost(price, undefined, { inputTokens: 100, outputText: undefined }, WORST)).toEqual({ costUsd: WORST, inputTokens: null, outputTokens: null, usageSource: "reserved" });
  });

  it("treats token fields that are not counts as not reported", () => {
    for (const bad of [Number.NaN, -1, 1.5, "12", null, undefined, Number.POSITIVE_INFINITY]) expect(tokenCount(bad)).toBeUndefined();
    expect(tokenCount(0)).toBe(0);
  });
});

describe("provider failures", () => {
  it("classes a body that is not JSON as an invalid answer without quoting it", () => {
    const error = fromSdkError(new SyntaxError(`Unexpected token '<', "<html>secret text" is not valid JSON`), "p");
    expect(error.failure).toBe("invalid_answer");
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain("secret text");
  });

  it("classes an oversized body as an invalid answer, however deep the SDK wrapped it", () => {
    const wrapped = Object.assign(new Error("Connection error."), { cause: new TypeError("fetch failed", { cause: new ResponseTooLargeError(1024) }) });
    const error = fromSdkError(wrapped, "p");
    expect(error).toMatchObject({ failure: "invalid_answer", message: expect.stringContaining("maxResponseBytes") });
  });

  it("classes a connection cut mid-body as a retryable connection failure, naming the cause", () => {
    const error = fromSdkError(new TypeError("terminated", { cause: new Error("other side closed") }), "p");
    expect(error).toMatchObject({ failure: "connection", message: "p: terminated: other side closed" });
    expect(error.retryable).toBe(true);
  });

  it("removes API keys from messages", () => {
    const key = "sk-proj-abcdefghijklmnopqrstuvwxyz012345";
    const error = fromSdkError(Object.assign(new Error(`401 Incorrect API key provided: ${key}.`), { status: 401 }), "p", [key]);
    expect(error.failure).toBe("client_error");
    expect(error.message).not.toContain(key);
    expect(redact("Authorization: Bearer abc.def-123 rejected", [])).toBe("Authorization: Bearer [redacted] rejected");
    expect(redact("key sk-live0123456789abcdef leaked", [])).not.toContain("0123456789abcdef");
  });

  it("describes an answer by its shape, not its content", () => {
    expect(describeAnswer("the quoted request")).toBe("a string of 18 characters");
    expect(describeAnswer({ label: "x", other: 1 })).toBe('an object with keys ["label","other"]');
    expect(describeAnswer([1, 2])).toBe("an array of 2");
  });
});

describe("the SDKs' fetch with a body cap", () => {
  async function serve(handler: (res: import("node:http").ServerResponse) => void) {
    const server = createServer((_req, res) => handler(res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
  }

  it("passes a body within the cap, refuses a declared length past it, and cuts a streamed body past it", async () => {
    const small = await serve((res) => res.end('{"ok":true}'));
    const declared = await serve((res) => res.writeHead(200, { "content-length": "5000" }).end("x".repeat(5000)));
    const streamed = await serve((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("x".repeat(3000));
      res.end("x".repeat(3000));
    });
    try {
      const capped = boundedFetch(4096);
      expect(await (await capped(small.url)).json()).toEqual({ ok: true });
      await expect(capped(declared.url)).rejects.toBeInstanceOf(ResponseTooLargeError);
      const response = await capped(streamed.url);
      await expect(response.text()).rejects.toBeInstanceOf(ResponseTooLargeError);
    } finally {
      await Promise.all([small.close(), declared.close(), streamed.close()]);
    }
  });
});
