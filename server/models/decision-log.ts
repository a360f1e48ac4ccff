import type { DecisionAction, DecisionStore, ModelDecision } from "../state/model-decisions.js";
import type { Log } from "./log.js";
import { standingByModel, standingDecision, type StandingDecision } from "./standing-decision.js";

/** Who made a version change, and why: the tenant id of an admin call, `watcher`, or `gate`. */
export interface DecidedBy {
  actor: string;
  reason?: string | undefined;
}

/**
 * Writes the registry's decisions to the state store. A decision that cannot be written never undoes the change it
 * records (the model already serves it); the operator is told it will not survive a restart.
 */
export class DecisionLog {
  constructor(
    private readonly store: DecisionStore,
    private readonly log: Log,
  ) {}

  async record(model: string, version: string | null, action: DecisionAction, by: DecidedBy): Promise<void> {
    const decision: ModelDecision = { time: new Date().toISOString(), model, version, action, actor: by.actor, reason: by.reason ?? null };
    try {
      await this.store.record(decision);
    } catch (error) {
      this.log("error", `${model}: the ${action} of version ${version ?? "-"} could not be recorded and will not survive a restart: ${(error as Error).message}`);
    }
  }

  history(model: string, limit?: number): Promise<ModelDecision[]> {
    return this.store.history(model, limit);
  }

  async standing(model: string): Promise<StandingDecision> {
    return standingDecision(await this.store.history(model));
  }

  async standingAll(): Promise<Map<string, StandingDecision>> {
    return standingByModel(await this.store.all());
  }
}
