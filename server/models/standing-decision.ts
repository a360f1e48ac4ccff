import type { DecisionAction, ModelDecision } from "../state/model-decisions.js";

/** Decisions that put a version in service. */
const SERVES: ReadonlySet<DecisionAction> = new Set(["reload", "promote", "load", "watch"]);

/** What a model's decision history still says at start-up. */
export interface StandingDecision {
  /** The version last put in service, with the decision that did it. */
  serving?: ModelDecision;
  /** The model was last taken out of service (an unload after any serving decision). */
  removed?: ModelDecision;
  /** Versions the gate refused and nobody put in service since, by version. */
  rejected: Map<string, ModelDecision>;
}

/** Folds one model's history (oldest first) into what it still says: the last serving decision wins, and putting a rejected version in service lifts its rejection. */
export function standingDecision(history: readonly ModelDecision[]): StandingDecision {
  const standing: StandingDecision = { rejected: new Map() };
  for (const decision of history) {
    if (decision.action === "gate_rejected" && decision.version !== null) {
      standing.rejected.set(decision.version, decision);
    } else if (decision.action === "unload") {
      standing.removed = decision;
      delete standing.serving;
    } else if (SERVES.has(decision.action) && decision.version !== null) {
      standing.serving = decision;
      delete standing.removed;
      standing.rejected.delete(decision.version);
    }
  }
  return standing;
}

/** Every model's standing decision, from all decisions (oldest first). */
export function standingByModel(decisions: readonly ModelDecision[]): Map<string, StandingDecision> {
  const byModel = new Map<string, ModelDecision[]>();
  for (const d of decisions) byModel.set(d.model, [...(byModel.get(d.model) ?? []), d]);
  return new Map([...byModel].map(([model, history]) => [model, standingDecision(history)]));
}

/** A decision in one phrase, for logs and errors. */
export function describeDecision(d: ModelDecision): string {
  return `${d.action}${d.version !== null ? ` of version ${d.version}` : ""} by ${d.actor} at ${d.time}${d.reason ? ` (${d.reason})` : ""}`;
}
