import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ServerContext } from "../server-context.js";
import { ErrorBody } from "../schemas.js";

const Me = z.object({
  id: z.string(),
  role: z.enum(["user", "admin"]),
  daily_budget_usd: z.number(),
  escalations_per_minute: z.number(),
  spend: z.object({ day: z.string(), spent_usd: z.number(), reserved_usd: z.number() }).describe("Frontier spend today (UTC) against daily_budget_usd."),
});

/** Who the key belongs to: the console signs in with it and shows a user tenant only its own pages. */
export const meRoute: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  app.get("/v1/me", { schema: { summary: "The tenant the API key belongs to and its role.", response: { 200: Me, "4xx": ErrorBody } } }, async (request) => {
    const t = request.tenant!;
    const spend = await context.book.spend(t.id, new Date());
    return {
      id: t.id,
      role: t.role,
      daily_budget_usd: t.dailyBudgetUsd,
      escalations_per_minute: t.escalationsPerMinute,
      spend: { day: spend.day, spent_usd: spend.committedUsd, reserved_usd: spend.reservedUsd },
    };
  });
};
