import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { requireAdmin } from "../../auth/tenants.js";
import { ServingError } from "../../errors/registry.js";
import type { DriftReport } from "../../monitoring/drift-watch.js";
import type { ServerContext } from "../server-context.js";
import { ErrorBody } from "../schemas.js";

const Shares = z.record(z.string(), z.number());
const DriftBody = z.object({
  model: z.string(),
  version: z.string(),
  window_minutes: z.number(),
  answers: z.number().describe("Answers in the window (cached ones too)."),
  min_answers: z.number().describe("Fewer answers than this: no drift score."),
  reference: z
    .object({ source: z.string(), count: z.number(), label_shares: Shares, confidence_histogram: z.array(z.number()).nullable(), escalation_rate: z.number() })
    .nullable()
    .describe("The model's answers on held-out data when it was made (metrics.json); null for a model without one."),
  live: z.object({ label_shares: Shares, confidence_histogram: z.array(z.number()).describe("Ten bins of width 0.1."), escalation_rate: z.number().nullable() }),
  psi: z.object({ labels: z.number().nullable(), confidence: z.number().nullable() }).describe("Population stability index against the reference: < 0.1 stable, 0.1–0.25 moderate, > 0.25 significant."),
  timeline: z.array(z.object({ start: z.string(), answers: z.number(), escalation_rate: z.number().nullable(), label_shares: Shares })),
});

function driftBody(r: DriftReport): z.infer<typeof DriftBody> {
  return {
    model: r.model,
    version: r.version,
    window_minutes: r.windowMinutes,
    answers: r.answers,
    min_answers: r.minAnswers,
    reference: r.reference
      ? { source: r.reference.source, count: r.reference.count, label_shares: r.reference.labelShares, confidence_histogram: r.reference.confidenceHistogram ?? null, escalation_rate: r.reference.escalationRate }
      : null,
    live: { label_shares: r.live.labelShares, confidence_histogram: r.live.confidenceHistogram, escalation_rate: r.live.escalationRate },
    psi: r.psi,
    timeline: r.timeline.map((t) => ({ start: t.start, answers: t.answers, escalation_rate: t.escalationRate, label_shares: t.labelShares })),
  };
}

/** Drift of a classification model's live answers against its reference. */
export const driftRoutes: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  app.get(
    "/admin/models/:name/drift",
    {
      schema: {
        summary: "Label shares, confidence histogram and escalation rate of the model's recent answers against its reference, with drift scores and a timeline.",
        params: z.object({ name: z.string() }),
        querystring: z.object({ minutes: z.coerce.number().positive().max(24 * 60 * 7).optional().describe("Window (default metrics.drift.windowMinutes).") }).strict(),
        response: { 200: DriftBody, "4xx": ErrorBody, "5xx": ErrorBody },
      },
    },
    async (request) => {
      requireAdmin(request.tenant!);
      const backend = context.registry.get(request.params.name);
      const { manifest } = backend;
      if (manifest.task !== "text-classification" || manifest.multiLabel) {
        throw new ServingError("ERR_MODEL_CANNOT_CLASSIFY", `model '${manifest.name}' is not a single-label classifier: drift is measured on classification answers`);
      }
      return driftBody(await context.drift.report({ dir: backend.dir, manifest }, request.query.minutes));
    },
  );
};
