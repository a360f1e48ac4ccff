import type { KillSwitch } from "../kill-switch.js";
import type { RedisConnection } from "./redis-connection.js";

/** Read again this often, in case a message was missed while the subscription reconnected. */
const POLL_MS = 1_000;

/**
 * The kill switch shared by all replicas: a key in Redis, announced on a channel. A flip is written before it is
 * acknowledged and reaches every replica at once by the message, or within POLL_MS by polling. Until some replica
 * flips it, each replica starts from its configuration (`escalation.enabled`). While Redis is away, the last value seen holds.
 */
export class RedisKillSwitch implements KillSwitch {
  private current: boolean;
  private readonly poll: NodeJS.Timeout;

  private constructor(
    private readonly redis: RedisConnection,
    initial: boolean,
  ) {
    this.current = initial;
    this.poll = setInterval(() => void this.refresh(), POLL_MS);
    this.poll.unref();
  }

  static async open(redis: RedisConnection, configured: boolean): Promise<RedisKillSwitch> {
    const channel = redis.key("escalation", "switch");
    const killSwitch = new RedisKillSwitch(redis, configured);
    redis.subscriber.on("message", (from, message) => {
      if (from === channel) killSwitch.current = message === "1";
    });
    await redis.run(() => redis.subscriber.subscribe(channel));
    await killSwitch.refresh();
    return killSwitch;
  }

  get on(): boolean {
    return this.current;
  }

  async set(on: boolean): Promise<void> {
    const value = on ? "1" : "0";
    await this.redis.run(async (r) => {
      await r.set(this.redis.key("escalation", "enabled"), value);
      await r.publish(this.redis.key("escalation", "switch"), value);
    });
    this.current = on;
  }

  async close(): Promise<void> {
    clearInterval(this.poll);
  }

  private async refresh(): Promise<void> {
    try {
      const value = await this.redis.commands.get(this.redis.key("escalation", "enabled"));
      if (value !== null) this.current = value === "1";
    } catch {
      // Redis is away: keep the last value seen.
    }
  }
}
