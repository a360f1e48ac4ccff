import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { requireAdmin } from "../../auth/tenants.js";
import { ReviewDesk } from "../../ledger/review-desk.js";
import type { StoredReview } from "../../ledger/ledger-store.js";
import type { ServerContext } from "../server-context.js";
import { ErrorBody } from "../schemas.js";
import { EscalationRecordBody, EscalationStatus, ReviewItemBody, ShadowReport, snakeKeys } from "../admin-schemas.js";

const Page = {
  model: z.string().optional(),
  before: z.coerce.number().int().positive().optional().describe("Only records with a smaller id (the previous page's last id)."),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
};

const EscalationSwitch = z.object({ enabled: z.boolean() }).strict();
const ShadowQuery = z.object({ hours: z.coerce.number().positive().max(24 * 366).default(24).describe("Window: the last this many hours.") }).strict();
const Resolve = z.object({ label: z.string().min(1) }).strict();
const ResolveMany = z.object({ ids: z.array(z.number().int().positive()).min(1).max(1000), label: z.string().min(1) }).strict();
const ReviewQuery = z.object({ ...Page, status: z.enum(["open", "resolved"]).optional() }).strict();
const ReviewId = z.object({ id: z.coerce.number().int().positive() });
const ReviewList = z.object({ items: z.array(ReviewItemBody) });
const errors = { "4xx": ErrorBody, "5xx": ErrorBody };
const statusResponse = { 200: EscalationStatus, ...errors };

/** Escalation control, records and the human review queue. */
export const adminRoutes: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  const { registry, tenants, book, escalation, ledger } = context;
  const desk = new ReviewDesk(ledger, (model) => registry.list().find((s) => s.manifest.name === model)?.manifest.labels);

  const status = async () => {
    const now = new Date();
    const spends = await Promise.all(
      tenants.list().map(async (t) => {
        const spend = await book.spend(t.id, now);
        return { id: t.id, role: t.role, day: spend.day, spent_usd: spend.committedUsd, reserved_usd: spend.reservedUsd, daily_budget_usd: t.dailyBudgetUsd };
      }),
    );
    return { ...escalation.status(), tenants: spends };
  };

  app.get("/admin/escalation", { schema: { summary: "Escalation switch, providers and their breakers, spend per tenant.", response: statusResponse } }, async (request) => {
    requireAdmin(request.tenant!);
    return status();
  });

  app.post(
    "/admin/escalation",
    { schema: { summary: "The kill switch: turn escalation off or on at once, without a restart.", body: EscalationSwitch, response: statusResponse } },
    async (request) => {
      requireAdmin(request.tenant!);
      await escalation.setEnabled(request.body.enabled);
      request.log.warn(`escalation switched ${request.body.enabled ? "on" : "off"} by tenant '${request.tenant!.id}'`);
      return status();
    },
  );

  app.get(
    "/admin/shadow",
    { schema: { summary: "Shadow mode report: agreement of confident specialist answers with the frontier, its latency and cost, per model version.", querystring: ShadowQuery, response: { 200: ShadowReport, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      const since = new Date(Date.now() - request.query.hours * 3_600_000).toISOString();
      const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : null);
      const models = (await ledger.shadowRows(since)).map((r) => ({
        model: r.model,
        version: r.version,
        shadow_rate: registry.list().find((m) => m.manifest.name === r.model)?.manifest.escalation.shadowRate ?? null,
        calls: r.calls,
        answered: r.answered,
        agreement: r.answered ? r.agreed / r.answered : null,
        frontier_latency_ms: { p50: percentile(r.latenciesMs, 50), p95: percentile(r.latenciesMs, 95) },
        cost_usd: r.costUsd,
      }));
      return { since, models };
    },
  );

  app.get(
    "/v1/escalations",
    { schema: { summary: "Escalation records, newest first: the caller's own, or any tenant's for an admin.", querystring: z.object({ ...Page, tenant: z.string().optional() }).strict(), response: { 200: z.object({ records: z.array(EscalationRecordBody) }), ...errors } } },
    async (request) => {
      const caller = request.tenant!;
      const { tenant, model, before, limit } = request.query;
      if (tenant !== undefined && tenant !== caller.id) requireAdmin(caller);
      const scope = caller.role === "admin" ? tenant : caller.id;
      const records = await ledger.listEscalations({ limit, ...(scope !== undefined ? { tenant: scope } : {}), ...(model ? { model } : {}), ...(before ? { before } : {}) });
      return { records: records.map((r) => EscalationRecordBody.parse(snakeKeys(r))) };
    },
  );

  const reviews = (items: StoredReview[]) => items.map((r) => ReviewItemBody.parse(snakeKeys(r)));
  const listReviews = (query: z.infer<typeof ReviewQuery>, tenant?: string) =>
    ledger.listReviews({ limit: query.limit, ...(tenant !== undefined ? { tenant } : {}), ...(query.status ? { status: query.status } : {}), ...(query.model ? { model: query.model } : {}), ...(query.before ? { before: query.before } : {}) });

  app.get(
    "/admin/reviews",
    { schema: { summary: "The human review queue, newest first.", querystring: ReviewQuery, response: { 200: ReviewList, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      return { items: reviews(await listReviews(request.query)) };
    },
  );

  app.get(
    "/v1/reviews",
    { schema: { summary: "The caller's own items in the review queue (read only), newest first.", querystring: ReviewQuery, response: { 200: ReviewList, ...errors } } },
    async (request) => ({ items: reviews(await listReviews(request.query, request.tenant!.id)) }),
  );

  app.post(
    "/admin/reviews/:id",
    { schema: { summary: "Resolve an open review item with the human's label (409 when it was already resolved).", params: ReviewId, body: Resolve, response: { 200: ReviewItemBody, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      const [resolved] = await desk.resolve([request.params.id], request.body.label, request.tenant!.id);
      return reviews([resolved!])[0]!;
    },
  );

  app.post(
    "/admin/reviews/resolve",
    { schema: { summary: "Resolve several open review items with one label, all or none.", body: ResolveMany, response: { 200: ReviewList, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      return { items: reviews(await desk.resolve(request.body.ids, request.body.label, request.tenant!.id)) };
    },
  );

  app.post(
    "/admin/reviews/:id/reopen",
    { schema: { summary: "Undo a label: the item is open again.", params: ReviewId, response: { 200: ReviewItemBody, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      return reviews([await desk.reopen(request.params.id)])[0]!;
    },
  );
};
