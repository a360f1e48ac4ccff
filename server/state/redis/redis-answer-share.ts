import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { AnswerShare, SharedAnswer } from "../answer-share.js";
import type { RedisConnection } from "./redis-connection.js";

/** A read waits this long for new answers before it asks again (and sees a close). */
const BLOCK_MS = 1_000;
/** After a failed read (Redis away), the next one is tried this much later; the stream position is kept. */
const RETRY_MS = 1_000;
const PAGE = 500;

type StreamEntries = Array<[id: string, fields: string[]]>;

/**
 * Semantic-cache answers on a Redis stream: each replica appends its new answers (the stream is capped at about
 * `maxEntries`, oldest first) and tails the others' on a connection of its own, from the stream's start, so that a
 * replica that starts warms its index with what the fleet already paid for. While Redis is away, replicas keep
 * their own answers and catch up from where they stopped reading.
 */
export class RedisAnswerShare implements AnswerShare {
  private readonly replica = randomUUID();
  private readonly stream: string;
  private reader: Redis | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly maxEntries: number,
  ) {
    this.stream = redis.key("semantic", "answers");
  }

  publish(answer: SharedAnswer): void {
    const fields = ["r", this.replica, "s", answer.shelf, "e", String(answer.expires), "p", answer.payload];
    // Best effort: the answer is in this replica's own index already.
    void this.redis.run((r) => r.xadd(this.stream, "MAXLEN", "~", String(this.maxEntries), "*", ...fields)).catch(() => undefined);
  }

  async subscribe(receive: (answer: SharedAnswer) => void): Promise<void> {
    // A blocking read holds its connection: a connection of its own, whose timeout outlasts the block.
    this.reader = this.redis.commands.duplicate({ commandTimeout: BLOCK_MS + 2_000, lazyConnect: true });
    this.reader.on("error", () => undefined);
    await this.reader.connect();
    let last = "0-0";
    const deliver = (entries: StreamEntries) => {
      const now = Date.now();
      for (const [id, fields] of entries) {
        last = id;
        const get = (name: string) => fields[fields.indexOf(name) + 1];
        const expires = Number(get("e"));
        if (get("r") === this.replica || !(expires > now)) continue;
        receive({ shelf: get("s")!, payload: get("p")!, expires });
      }
    };
    const read = async (block: boolean) => {
      const reader = this.reader!;
      const reply = block ? await reader.xread("COUNT", PAGE, "BLOCK", BLOCK_MS, "STREAMS", this.stream, last) : await reader.xread("COUNT", PAGE, "STREAMS", this.stream, last);
      const entries = (reply?.[0]?.[1] ?? []) as StreamEntries;
      deliver(entries);
      return entries.length;
    };
    // What is already shared, read before start-up goes on so that the first requests see it; Redis being away
    // here costs only the warm start: the tail below catches up.
    try {
      while ((await read(false)) === PAGE);
    } catch {
      // Caught up by the tail.
    }
    this.loop = (async () => {
      while (!this.closed) {
        try {
          await read(true);
        } catch {
          if (!this.closed) await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reader?.disconnect();
    await this.loop;
  }
}
