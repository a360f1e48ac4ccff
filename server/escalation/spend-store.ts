export interface Reservation {
  tenant: string;
  day: string;
  /** Nano-USD: integers, so that thousands of small amounts add up exactly. */
  amountNano: number;
}

export interface TenantSpend {
  day: string;
  committedUsd: number;
  reservedUsd: number;
}

/**
 * Budgets and escalation rate limits, per tenant. Asynchronous so that a shared store (Redis, Postgres) can take
 * the in-process one's place when several replicas serve together; each call must be atomic in the store.
 */
export interface SpendStore {
  /** Reserves `amountUsd` when committed + reserved + amount stays within `limitUsd` for the tenant's UTC day. */
  reserve(tenant: string, amountUsd: number, limitUsd: number, now: Date): Promise<Reservation | undefined>;
  /** Replaces the reservation by the actual cost (which may exceed it when a provider counts more tokens). */
  settle(reservation: Reservation, actualUsd: number): Promise<void>;
  release(reservation: Reservation): Promise<void>;
  spend(tenant: string, now: Date): Promise<TenantSpend>;
  /** Takes one escalation from the tenant's per-minute allowance (a token bucket); false when it is used up. */
  takeEscalation(tenant: string, perMinute: number, now: Date): Promise<boolean>;
}

export const NANO = 1e9;
export const utcDay = (now: Date) => now.toISOString().slice(0, 10);

/** One server's store: exact and atomic because JavaScript runs each call to its end before the next. */
export class MemorySpendStore implements SpendStore {
  private readonly days = new Map<string, { committed: number; reserved: number }>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Spend already committed today (from the ledger at start-up), so a restart does not reset budgets. */
  seed(tenant: string, day: string, committedUsd: number): void {
    this.entry(tenant, day).committed += Math.ceil(committedUsd * NANO);
  }

  async reserve(tenant: string, amountUsd: number, limitUsd: number, now: Date): Promise<Reservation | undefined> {
    const day = utcDay(now);
    const entry = this.entry(tenant, day);
    const amountNano = Math.ceil(amountUsd * NANO);
    if (entry.committed + entry.reserved + amountNano > Math.floor(limitUsd * NANO)) return undefined;
    entry.reserved += amountNano;
    return { tenant, day, amountNano };
  }

  async settle(reservation: Reservation, actualUsd: number): Promise<void> {
    const entry = this.entry(reservation.tenant, reservation.day);
    entry.reserved -= reservation.amountNano;
    entry.committed += Math.ceil(actualUsd * NANO);
  }

  async release(reservation: Reservation): Promise<void> {
    this.entry(reservation.tenant, reservation.day).reserved -= reservation.amountNano;
  }

  async spend(tenant: string, now: Date): Promise<TenantSpend> {
    const day = utcDay(now);
    const entry = this.days.get(`${tenant}\n${day}`) ?? { committed: 0, reserved: 0 };
    return { day, committedUsd: entry.committed / NANO, reservedUsd: entry.reserved / NANO };
  }

  async takeEscalation(tenant: string, perMinute: number, now: Date): Promise<boolean> {
    const at = now.getTime();
    const bucket = this.buckets.get(tenant) ?? { tokens: perMinute, at };
    bucket.tokens = Math.min(perMinute, bucket.tokens + ((at - bucket.at) * perMinute) / 60_000);
    bucket.at = at;
    this.buckets.set(tenant, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private entry(tenant: string, day: string) {
    const key = `${tenant}\n${day}`;
    let entry = this.days.get(key);
    if (!entry) this.days.set(key, (entry = { committed: 0, reserved: 0 }));
    return entry;
  }
}
