import { Redis } from "ioredis";
import { StateUnavailable } from "../state-unavailable.js";

export interface RedisSettings {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
}

/**
 * One replica's Redis connections: commands, and a second one for subscriptions (a subscribed connection takes no
 * other commands). Reconnects forever in the background; a command that cannot complete within
 * `commandTimeoutMs` fails as StateUnavailable instead of waiting for Redis to come back.
 */
export class RedisConnection {
  private constructor(
    readonly commands: Redis,
    readonly subscriber: Redis,
    readonly prefix: string,
  ) {}

  static async open(settings: RedisSettings): Promise<RedisConnection> {
    const options = {
      commandTimeout: settings.commandTimeoutMs,
      connectTimeout: Math.max(1_000, settings.commandTimeoutMs),
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(50 * times, 1_000),
    };
    const commands = new Redis(settings.url, options);
    const subscriber = new Redis(settings.url, options);
    // Connection errors surface on the commands that hit them; as events they are expected while Redis is away.
    commands.on("error", () => undefined);
    subscriber.on("error", () => undefined);
    try {
      await Promise.all([commands.connect(), subscriber.connect()]);
    } catch (error) {
      commands.disconnect();
      subscriber.disconnect();
      throw new StateUnavailable("redis", error);
    }
    return new RedisConnection(commands, subscriber, settings.keyPrefix);
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(":");
  }

  /** Runs a command, turning a lost connection or a timeout into StateUnavailable. */
  async run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await command(this.commands);
    } catch (error) {
      throw new StateUnavailable("redis", error);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}
