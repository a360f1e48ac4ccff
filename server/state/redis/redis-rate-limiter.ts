import type { RateLimiter } from "../rate-limiter.js";
import type { RedisConnection } from "./redis-connection.js";

// The token bucket of MemoryRateLimiter, run inside Redis so that every replica takes from the same one. A Lua script
// runs atomically: no two replicas can both take the last token.
const TAKE = `
local rate = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or rate
local at = tonumber(state[2]) or now
tokens = math.min(rate, tokens + math.max(0, now - at) * rate / 60000)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], 120000)
return taken`;

/** Per-tenant escalation allowances shared by all replicas: one bucket per tenant in Redis. */
export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: RedisConnection) {
    redis.commands.defineCommand("specialistTake", { numberOfKeys: 1, lua: TAKE });
  }

  async take(tenant: string, perMinute: number, now: Date): Promise<boolean> {
    const key = this.redis.key("ratelimit", tenant);
    const taken = await this.redis.run((r) => (r as unknown as { specialistTake(key: string, rate: number, now: number): Promise<number> }).specialistTake(key, perMinute, now.getTime()));
    return taken === 1;
  }
}
