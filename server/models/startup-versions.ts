import { compareVersions, type ModelEntry } from "./repository.js";
import { describeDecision, type StandingDecision } from "./standing-decision.js";

export interface StartupVersions {
  /** Versions to try in order until one loads: the decided one, then the others from the highest down. */
  candidates: ModelEntry[];
  /** Versions left out, with why (rejected by the gate); for the log and /v1/models when nothing is left. */
  excluded: Array<{ entry: ModelEntry; reason: string }>;
  /** The decision that chose the first candidate, for the log; undefined when it is merely the highest. */
  decided?: string;
}

/**
 * Which versions of a model start-up tries: a pinned version alone; else the version last put in service (an admin
 * reload or rollback, a promotion, a hot add, a watched swap) when its folder is still there; then every other
 * version from the highest down, so that one that does not load falls back to the next. Versions the gate rejected
 * are never tried unless a later decision put them in service.
 */
export function startupVersions(versions: readonly ModelEntry[], pinned: string | undefined, standing: StandingDecision | undefined): StartupVersions {
  if (pinned !== undefined) {
    const entry = versions.find((e) => e.manifest.version === pinned);
    return { candidates: entry ? [entry] : [], excluded: [], decided: "models.overrides.version" };
  }
  const descending = [...versions].sort((a, b) => compareVersions(b.manifest.version, a.manifest.version));
  const excluded: StartupVersions["excluded"] = [];
  const allowed = descending.filter((entry) => {
    const rejection = standing?.rejected.get(entry.manifest.version);
    if (rejection) excluded.push({ entry, reason: `rejected: ${describeDecision(rejection)}` });
    return !rejection;
  });
  const decided = standing?.serving;
  const first = decided ? allowed.find((e) => e.manifest.version === decided.version) : undefined;
  if (!first) return { candidates: allowed, excluded };
  return { candidates: [first, ...allowed.filter((e) => e !== first)], excluded, decided: describeDecision(decided!) };
}
