/**
 * Circuit breakers shared by replicas: when one replica's breaker for a provider opens, the others hold their calls
 * to it for the same cool-down. Each replica keeps its own breaker (its own window of outcomes); this only spreads
 * the "open" decision. Reads are synchronous (a local copy that follows the store).
 */
export interface BreakerSync {
  /** Until when (Unix ms) another replica has the provider's circuit open; 0 when none has. */
  openUntil(provider: string): number;
  /** This replica opened the provider's circuit until `untilMs` (Unix ms). */
  opened(provider: string, untilMs: number): void;
  close(): Promise<void>;
}

/** One process: there is no other replica to hear from. */
export class LocalBreakers implements BreakerSync {
  openUntil(): number {
    return 0;
  }

  opened(): void {}

  async close(): Promise<void> {}
}
