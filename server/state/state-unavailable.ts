/**
 * The shared store (PostgreSQL, Redis) could not be reached within the time allowed. Escalation then degrades with
 * `state_unavailable` and the caller keeps the specialist's answer; nothing is spent that is not recorded.
 */
export class StateUnavailable extends Error {
  constructor(store: "postgres" | "redis", cause: unknown) {
    super(`${store} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "StateUnavailable";
  }
}
