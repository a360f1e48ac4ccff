import { openEmbeddedState } from "./embedded-state.js";
import type { ServingState, StateConfig } from "./serving-state.js";

type Log = (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;

/**
 * The configured state: embedded unless `state.postgres` or `state.redis` is set. The fleet's clients (pg,
 * ioredis) are imported only then, so a single server does not pay for loading them at start-up.
 */
export async function openState(config: StateConfig, log: Log = () => {}): Promise<ServingState> {
  if (!config.state.postgres && !config.state.redis) return openEmbeddedState(config.ledger, config.escalation.enabled);
  return (await import("./open-fleet-state.js")).openFleetState(config, log);
}
