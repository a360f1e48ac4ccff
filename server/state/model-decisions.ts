/**
 * What an operator (or the repository watcher, or the gate) decided about a model's versions. Kept in the state store
 * so that a restart serves what was last decided, not merely the highest folder.
 */
export const DECISION_ACTIONS = [
  /** A version put in service by an admin reload, forward or back (a rollback is a reload to an older version). */
  "reload",
  /** A canary promoted to serving. */
  "promote",
  /** A model added without a restart. */
  "load",
  /** A model taken out of service without a restart; it stays out across restarts until loaded again. */
  "unload",
  /** A version the repository watcher found and swapped in. */
  "watch",
  /** A version the golden-file gate refused: never served at start-up unless an admin puts it in service. */
  "gate_rejected",
  /** Recorded for the history only. */
  "canary_start",
  "canary_rollback",
  /** The watcher took a model out of service because its folder left the repository; not applied at start-up. */
  "folder_removed",
] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export interface ModelDecision {
  /** ISO time. */
  time: string;
  model: string;
  /** The version concerned; null for an unload. */
  version: string | null;
  action: DecisionAction;
  /** Who decided: a tenant id, `watcher`, or `gate`. */
  actor: string;
  reason: string | null;
}

export interface DecisionStore {
  record(decision: ModelDecision): Promise<void>;
  /** The model's decisions, oldest first; the newest `limit` when given. */
  history(model: string, limit?: number): Promise<ModelDecision[]>;
  /** Every model's decisions, oldest first: read once at start-up. */
  all(): Promise<ModelDecision[]>;
}

/** Keeps decisions in the process only: for tools that open a registry without a state store. */
export class MemoryDecisionStore implements DecisionStore {
  private readonly decisions: ModelDecision[] = [];

  async record(decision: ModelDecision): Promise<void> {
    this.decisions.push(decision);
  }

  async history(model: string, limit?: number): Promise<ModelDecision[]> {
    const own = this.decisions.filter((d) => d.model === model);
    return limit === undefined ? own : own.slice(-limit);
  }

  async all(): Promise<ModelDecision[]> {
    return [...this.decisions];
  }
}
