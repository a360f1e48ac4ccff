/** Per-tenant escalation allowances. Asynchronous so that a shared store can hold one window for several replicas. */
export interface RateLimiter {
  /** Takes one escalation from the tenant's per-minute allowance (a token bucket); false when it is used up. */
  take(tenant: string, perMinute: number, now: Date): Promise<boolean>;
}

/** One process's buckets: exact because JavaScript runs each call to its end before the next. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  async take(tenant: string, perMinute: number, now: Date): Promise<boolean> {
    const at = now.getTime();
    const bucket = this.buckets.get(tenant) ?? { tokens: perMinute, at };
    bucket.tokens = Math.min(perMinute, bucket.tokens + ((at - bucket.at) * perMinute) / 60_000);
    bucket.at = at;
    this.buckets.set(tenant, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
