import type { BreakerSync } from "../breaker-sync.js";
import type { RedisConnection } from "./redis-connection.js";

const POLL_MS = 1_000;

/**
 * Open circuits announced to every replica: a key per provider holding the time the circuit reopens (expiring then),
 * and a message on a channel. Other replicas hold their calls to that provider until then.
 */
export class RedisBreakerSync implements BreakerSync {
  private readonly until = new Map<string, number>();
  private readonly poll: NodeJS.Timeout;

  private constructor(
    private readonly redis: RedisConnection,
    private readonly providers: string[],
  ) {
    this.poll = setInterval(() => void this.refresh(), POLL_MS);
    this.poll.unref();
  }

  static async open(redis: RedisConnection, providers: string[]): Promise<RedisBreakerSync> {
    const sync = new RedisBreakerSync(redis, providers);
    const channel = redis.key("breaker", "opened");
    redis.subscriber.on("message", (from, message) => {
      if (from !== channel) return;
      try {
        const { provider, until } = JSON.parse(message) as { provider: string; until: number };
        sync.note(provider, until);
      } catch {
        // Not ours.
      }
    });
    await redis.run(() => redis.subscriber.subscribe(channel));
    await sync.refresh();
    return sync;
  }

  openUntil(provider: string): number {
    const until = this.until.get(provider) ?? 0;
    return until > Date.now() ? until : 0;
  }

  opened(provider: string, untilMs: number): void {
    this.note(provider, untilMs);
    const ttl = Math.max(1, Math.ceil(untilMs - Date.now()));
    // Best effort: when Redis is away, this replica's own breaker still holds its calls.
    void this.redis
      .run(async (r) => {
        await r.set(this.redis.key("breaker", provider), String(untilMs), "PX", ttl);
        await r.publish(this.redis.key("breaker", "opened"), JSON.stringify({ provider, until: untilMs }));
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.poll);
  }

  private note(provider: string, until: number): void {
    if (until > (this.until.get(provider) ?? 0)) this.until.set(provider, until);
  }

  private async refresh(): Promise<void> {
    if (this.providers.length === 0) return;
    try {
      const values = await this.redis.commands.mget(...this.providers.map((p) => this.redis.key("breaker", p)));
      values.forEach((value, i) => {
        if (value !== null) this.note(this.providers[i]!, Number(value));
      });
    } catch {
      // Redis is away: keep what was seen.
    }
  }
}
