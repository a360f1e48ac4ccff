import { describe, expect, it } from "vitest";
import { hashApiKey, TenantDirectory } from "../../server/auth/tenants.js";
import { AuthSettings } from "../../server/config/escalation-schema.js";
import { loadConfig } from "../../server/config/load-config.js";
import { ServingError } from "../../server/errors/registry.js";
import { createProvider } from "../../server/escalation/providers/create-provider.js";
import { priceBook, PRICE_TABLE } from "../../server/escalation/price-table.js";

const noEnv = {} as NodeJS.ProcessEnv;
const provider = { kind: "openai", model: "gpt-5-mini", apiKeyEnv: "KEY" } as const;

function rejected(overrides: NonNullable<Parameters<typeof loadConfig>[0]>["overrides"]): string {
  try {
    loadConfig({ env: noEnv, overrides });
  } catch (error) {
    expect((error as ServingError).code).toBe("ERR_CONFIG_INVALID");
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("escalation and auth configuration", () => {
  it("refuses a non-loopback address without API keys, and accepts it with them", () => {
    expect(rejected({ server: { host: "0.0.0.0" } })).toMatch(/server\.host.*auth\.tenants/);
    const config = loadConfig({ env: noEnv, overrides: { server: { host: "0.0.0.0" }, auth: { tenants: { a: { keys: [hashApiKey("k")] } } } } });
    expect(config.server.host).toBe("0.0.0.0");
    expect(loadConfig({ env: noEnv, overrides: { server: { host: "::1" } } }).server.host).toBe("::1");
  });

  it("names the path of a default provider that does not exist", () => {
    expect(rejected({ escalation: { defaultProvider: "gpt", providers: { openai: provider } } })).toContain("escalation.defaultProvider");
  });

  it("takes key hashes, not keys, and rejects unknown provider fields", () => {
    expect(rejected({ auth: { tenants: { a: { keys: ["sk-plain-key"] } } } })).toContain("auth.tenants.a.keys.0");
    expect(rejected({ escalation: { providers: { p: { ...provider, apiKey: "sk-in-a-file" } as never } } })).toContain("apiKey");
  });

  it("has defaults that fit a frontier's latency: a 10 s call timeout, an 8 s escalation budget, bounded retries and a breaker", () => {
    const config = loadConfig({ env: noEnv, overrides: { escalation: { providers: { p: provider } } } });
    expect(config.escalation.providers.p).toMatchObject({ timeoutMs: 10_000, maxRetries: 2, maxOutputTokens: 64, breaker: { consecutiveFailures: 5, coolDownMs: 30_000 } });
    // Within the request's own 10 s deadline.
    expect(config.escalation.deadlineMs).toBe(8_000);
    expect(config.server.requestDeadlineMs).toBe(10_000);
    expect(config.escalation.enabled).toBe(true);
    expect(config.ledger).toEqual({ path: "data/ledger.sqlite", storeInputs: false });
  });

  it("needs the provider's API key in its environment variable", async () => {
    await expect(createProvider("p", loadConfig({ env: noEnv, overrides: { escalation: { providers: { p: provider } } } }).escalation.providers.p!, {})).rejects.toThrow(/KEY is not set/);
  });

  it("prices models from a dated table that the configuration can extend", () => {
    const book = priceBook({ "my-model": { inputUsdPerMTok: 1, outputUsdPerMTok: 2 } });
    expect(book.priceOf("gpt-5-mini")).toEqual(PRICE_TABLE.models["gpt-5-mini"]);
    expect(book.priceOf("my-model")).toEqual({ inputUsdPerMTok: 1, outputUsdPerMTok: 2 });
    expect(book.version).toBe(`${PRICE_TABLE.version}+config`);
    expect(priceBook({}).priceOf("unknown")).toBeUndefined();
  });
});

describe("tenant directory", () => {
  const directory = new TenantDirectory(
    AuthSettings.parse({ tenants: { a: { keys: [hashApiKey("key-a1"), hashApiKey("key-a2")] }, root: { keys: [hashApiKey("key-root")], role: "admin" } } }),
  );

  it("finds the tenant of any of its keys", () => {
    expect(directory.authenticate("Bearer key-a1").id).toBe("a");
    expect(directory.authenticate("bearer key-a2").id).toBe("a");
    expect(directory.authenticate("Bearer key-root").role).toBe("admin");
  });

  it("rejects missing, malformed and unknown keys with ERR_UNAUTHORIZED", () => {
    for (const header of [undefined, "", "key-a1", "Basic key-a1", "Bearer key-a1x", "Bearer "]) {
      expect(() => directory.authenticate(header)).toThrow(expect.objectContaining({ code: "ERR_UNAUTHORIZED" }));
    }
  });

  it("is open, as one admin tenant, only when no tenants are configured", () => {
    const open = new TenantDirectory(AuthSettings.parse({}));
    expect(open.open).toBe(true);
    expect(open.authenticate(undefined)).toMatchObject({ id: "local", role: "admin" });
    expect(directory.open).toBe(false);
  });
});
