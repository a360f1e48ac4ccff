import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SemanticCache } from "../../server/cache/semantic-cache.js";
import { semanticManifest } from "../helpers/semantic-manifest.js";
import { RedisAnswerShare } from "../../server/state/redis/redis-answer-share.js";
import { RedisBreakerSync } from "../../server/state/redis/redis-breaker-sync.js";
import { RedisConnection } from "../../server/state/redis/redis-connection.js";
import { RedisKillSwitch } from "../../server/state/redis/redis-kill-switch.js";
import { RedisRateLimiter } from "../../server/state/redis/redis-rate-limiter.js";
import { StateUnavailable } from "../../server/state/state-unavailable.js";
import { freePort, startRedis, stateTestsEnabled, type RedisServer } from "../helpers/state-servers.js";

/** The fleet's Redis state against a real redis-server: one rate-limit window, one kill switch, shared open circuits. */
const enabled = stateTestsEnabled();
let redis: RedisServer;
const connections: RedisConnection[] = [];

beforeAll(async () => {
  if (enabled) redis = await startRedis();
});

afterAll(async () => {
  for (const c of connections) await c.close();
  await redis?.stop();
});

let prefixes = 0;
/** A replica's connection; each test has its own key prefix, so tests do not share buckets or switches. */
async function replica(prefix: string): Promise<RedisConnection> {
  const connection = await RedisConnection.open({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 500 });
  connections.push(connection);
  return connection;
}

async function eventually(check: () => boolean, ms = 2_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

describe.runIf(enabled)("Redis shared state", () => {
  it("gives replicas one rate-limit window: exactly the allowance, however many replicas ask", async () => {
    const prefix = `t${++prefixes}:`;
    const limiters = await Promise.all([1, 2, 3].map(async () => new RedisRateLimiter(await replica(prefix))));
    const now = new Date();
    const taken = await Promise.all(Array.from({ length: 90 }, (_, i) => limiters[i % 3]!.take("acme", 20, now)));
    expect(taken.filter(Boolean)).toHaveLength(20);
    // Another tenant has its own bucket; the allowance refills at its rate (20 a minute: one every 3 s).
    expect(await limiters[0]!.take("other", 20, now)).toBe(true);
    expect(await limiters[1]!.take("acme", 20, new Date(now.getTime() + 3_000))).toBe(true);
    expect(await limiters[2]!.take("acme", 20, new Date(now.getTime() + 3_000))).toBe(false);
  });

  it("spreads a kill-switch flip to every replica within a second, and a replica started later sees it", async () => {
    const prefix = `t${++prefixes}:`;
    const a = await RedisKillSwitch.open(await replica(prefix), true);
    const b = await RedisKillSwitch.open(await replica(prefix), true);
    expect([a.on, b.on]).toEqual([true, true]);
    await a.set(false);
    expect(a.on).toBe(false);
    expect(await eventually(() => !b.on)).toBeLessThan(1_000);
    const late = await RedisKillSwitch.open(await replica(prefix), true);
    expect(late.on).toBe(false);
    await b.set(true);
    await eventually(() => a.on && late.on);
    for (const s of [a, b, late]) await s.close();
  });

  it("holds calls to a provider on every replica while one replica has its circuit open", async () => {
    const prefix = `t${++prefixes}:`;
    const a = await RedisBreakerSync.open(await replica(prefix), ["openai"]);
    const b = await RedisBreakerSync.open(await replica(prefix), ["openai"]);
    const until = Date.now() + 1_500;
    a.opened("openai", until);
    await eventually(() => b.openUntil("openai") === until);
    expect(b.openUntil("other")).toBe(0);
    const late = await RedisBreakerSync.open(await replica(prefix), ["openai"]);
    expect(late.openUntil("openai")).toBe(until);
    await eventually(() => b.openUntil("openai") === 0 && late.openUntil("openai") === 0, 3_000);
    for (const s of [a, b, late]) await s.close();
  });

  it("fails fast as StateUnavailable when Redis goes away, and works again when it is back", async () => {
    const prefix = `t${++prefixes}:`;
    const limiter = new RedisRateLimiter(await replica(prefix));
    expect(await limiter.take("acme", 10, new Date())).toBe(true);
    await redis.stop();
    try {
      const started = Date.now();
      await expect(limiter.take("acme", 10, new Date())).rejects.toBeInstanceOf(StateUnavailable);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await redis.start();
    }
    await eventually(() => connections.every((c) => c.commands.status === "ready"), 5_000);
    // Redis kept nothing on disk: the bucket starts full again.
    expect(await limiter.take("acme", 10, new Date())).toBe(true);
  });

  it("refuses to start against a Redis that is not there, with StateUnavailable", async () => {
    await expect(RedisConnection.open({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: "x:", commandTimeoutMs: 200 })).rejects.toBeInstanceOf(StateUnavailable);
  });

  it("passes semantic-cache answers between replicas: one frontier answer serves near-duplicates on all, never a negation or another tenant", async () => {
    const prefix = `t${++prefixes}:`;
    const manifest = (version: string) => semanticManifest(version, 0.6);
    const v1 = manifest("1");
    const shares: RedisAnswerShare[] = [];
    const cache = async (ttlMs = 60_000) => {
      const share = new RedisAnswerShare(await replica(prefix), 1_000);
      shares.push(share);
      const c = new SemanticCache({ enabled: true, maxEntriesPerModel: 100, ttlMs }, new Registry(), share);
      await c.join();
      return c;
    };
    const text = "Dear Ann,\nyour invoice 4411 for March is attached.\nPlease pay within 30 days.\nRegards, Tom";
    const nearDuplicate = text.replace("4411", "5120").replace("Ann", "Bob");
    const negated = text.replace("is attached", "is not attached");
    try {
      const [a, b] = [await cache(), await cache()];
      const key = (t: string) => a.keyFor(v1, t)!;
      a.remember("acme", v1, key(text), { label: "ham", provider: "openai", model: "gpt" });
      await eventually(() => b.lookup("acme", v1, key(nearDuplicate)) !== undefined);
      expect(b.lookup("acme", v1, key(nearDuplicate))).toMatchObject({ answer: { label: "ham", provider: "openai" } });
      expect(b.lookup("acme", v1, key(negated))).toBeUndefined();
      expect(b.lookup("other-tenant", v1, key(nearDuplicate))).toBeUndefined();
      expect(b.lookup("acme", manifest("2"), key(nearDuplicate))).toBeUndefined();
      // A replica that starts later has the fleet's answers before its first request, and its own answers travel back.
      const c = await cache();
      expect(c.lookup("acme", v1, key(nearDuplicate))).toBeDefined();
      c.remember("acme", v1, key("Win a free cruise today, click the link now"), { label: "spam", provider: "openai", model: "gpt" });
      await eventually(() => a.lookup("acme", v1, key("WIN a FREE cruise today click the link")) !== undefined);
      // An answer past its time is not passed on.
      const shortLived = await cache(1);
      shortLived.remember("acme", v1, key("Meeting moved to Thursday at noon in room 4"), { label: "ham", provider: "openai", model: "gpt" });
      await new Promise((r) => setTimeout(r, 300));
      const late = await cache();
      expect(late.lookup("acme", v1, key("Meeting moved to Thursday at noon in room 5"))).toBeUndefined();
      expect(late.lookup("acme", v1, key(nearDuplicate))).toBeDefined();
    } finally {
      for (const share of shares) await share.close();
    }
  });
});
