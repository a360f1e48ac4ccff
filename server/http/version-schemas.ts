import { z } from "zod";
import type { CanaryReport, LatencySummary } from "../models/canary.js";
import type { ReloadGateOutcome } from "../models/reload-gate.js";
import { DECISION_ACTIONS } from "../state/model-decisions.js";
import { UnreadableFolders } from "./schemas.js";

const Scores = z.object({ accuracy: z.number(), macro_f1: z.number() });

export const GateOutcomeBody = z
  .object({
    passed: z.boolean(),
    golden: z.string(),
    examples: z.number(),
    margin: z.number(),
    min_support: z.number().describe("Golden items a label or category needs before its check may block."),
    baseline: Scores.nullable().describe("The serving version's scores; null when nothing was serving."),
    candidate: Scores,
    checks: z.array(
      z.object({
        metric: z.string(),
        baseline: z.number(),
        candidate: z.number(),
        drop: z.number(),
        passed: z.boolean(),
        support: z.number().optional().describe("Golden items behind a per-label or per-category score."),
        skipped: z.string().optional().describe("Why this check was reported but did not count."),
      }),
    ),
    seconds: z.number(),
  })
  .describe("The golden-file gate's outcome; null when the model has no gate or it was skipped.");

const GateFlag = z.boolean().optional().describe("Run the model's configured golden-file gate (default when one is configured); false skips it.");
const Reason = z.string().min(1).max(500).optional().describe("Why, for the model's decision history.");

export const ReloadBody = z
  .object({
    version: z.string().min(1).optional().describe("Version folder to load; default: the pinned or highest version."),
    gate: GateFlag,
    reason: Reason,
  })
  .strict();

export const ReloadResult = z.object({
  model: z.string(),
  previous_version: z.string().nullable(),
  version: z.string(),
  load_ms: z.number(),
  gate: GateOutcomeBody.nullable(),
  unreadable: UnreadableFolders,
});

export const LoadBody = z
  .object({
    version: z.string().min(1).optional().describe("Version folder to load; default: the one start-up would choose (last decided, else the highest the gate did not reject)."),
    gate: GateFlag,
    reason: Reason,
  })
  .strict();

export const LoadResult = z.object({ model: z.string(), version: z.string(), load_ms: z.number(), gate: GateOutcomeBody.nullable() });

export const UnloadQuery = z.object({ reason: Reason }).strict();

export const UnloadResult = z.object({ model: z.string(), version: z.string().describe("The version that was serving."), drain_ms: z.number() });

export const HistoryQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict();

const Decision = z.object({
  time: z.string(),
  action: z.enum(DECISION_ACTIONS),
  version: z.string().nullable(),
  actor: z.string().describe("Tenant id of an admin call, `watcher`, or `config`."),
  reason: z.string().nullable(),
});

export const HistoryResult = z.object({
  model: z.string(),
  start_up: z
    .object({
      version: z.string().nullable().describe("The version the last serving decision chose; null when none was made (start-up serves the highest allowed)."),
      removed: z.boolean().describe("Taken out of service by an admin: not served at start-up unless loaded again."),
      rejected_versions: z.array(z.string()).describe("Versions the gate refused and nobody put in service since: never served at start-up."),
    })
    .describe("What the decisions still say at the next start-up (a version pinned in the configuration wins)."),
  decisions: z.array(Decision).describe("Newest first."),
});

export const CanaryStart = z
  .object({
    version: z.string().min(1).describe("The candidate version folder."),
    share: z.number().min(0).max(1).describe("Share of classification requests the candidate answers."),
    gate: z.boolean().optional().describe("Run the model's configured golden-file gate before it takes traffic (default when one is configured)."),
    reason: Reason,
  })
  .strict();

const Latency = z.object({ count: z.number(), p50_ms: z.number().nullable(), p95_ms: z.number().nullable(), p99_ms: z.number().nullable() });

export const CanaryReportBody = z.object({
  model: z.string(),
  current_version: z.string(),
  candidate_version: z.string(),
  share: z.number(),
  started_at: z.string(),
  requests: z.number().describe("Requests the candidate answered."),
  inputs: z.number(),
  candidate_errors: z.number().describe("Requests the candidate failed; the current version answered them."),
  compared: z.number().describe("Canary inputs also classified by the current version, in the background."),
  agreed: z.number(),
  agreement: z.number().nullable(),
  skipped: z.number().describe("Canary inputs not compared (comparisons saturated or failed)."),
  latency: z.object({ candidate: Latency, current: Latency }).describe("Queue + compute per canary request: the candidate's, and the current version's on the same inputs."),
});

export const PromoteResult = z.object({ model: z.string(), previous_version: z.string(), version: z.string(), canary: CanaryReportBody });

export function gateBody(gate: ReloadGateOutcome | null): z.infer<typeof GateOutcomeBody> | null {
  if (!gate) return null;
  const scores = (s: { accuracy: number; macroF1: number }) => ({ accuracy: s.accuracy, macro_f1: s.macroF1 });
  return {
    passed: gate.passed,
    golden: gate.golden,
    examples: gate.examples,
    margin: gate.margin,
    min_support: gate.minSupport,
    baseline: gate.baseline ? scores(gate.baseline) : null,
    candidate: scores(gate.candidate),
    checks: gate.checks,
    seconds: gate.seconds,
  };
}

function latencyBody(l: LatencySummary): z.infer<typeof Latency> {
  return { count: l.count, p50_ms: l.p50Ms, p95_ms: l.p95Ms, p99_ms: l.p99Ms };
}

export function canaryBody(r: CanaryReport): z.infer<typeof CanaryReportBody> {
  return {
    model: r.model,
    current_version: r.currentVersion,
    candidate_version: r.candidateVersion,
    share: r.share,
    started_at: r.startedAt,
    requests: r.requests,
    inputs: r.inputs,
    candidate_errors: r.candidateErrors,
    compared: r.compared,
    agreed: r.agreed,
    agreement: r.agreement,
    skipped: r.skipped,
    latency: { candidate: latencyBody(r.latency.candidate), current: latencyBody(r.latency.current) },
  };
}
