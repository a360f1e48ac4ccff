import { performance } from "node:perf_hooks";
import type { CallSettlement, SpendBook } from "../state/spend-book.js";
import { callCost, type CallCost } from "./call-cost.js";
import { callSignal } from "./call-signal.js";
import { FrontierError } from "./frontier-error.js";
import type { ModelPrice } from "../config/escalation-schema.js";
import type { FrontierProvider, FrontierRequest } from "./providers/frontier-provider.js";
import type { AttemptLimit } from "./retry.js";

/** The tenant's budget has no room for this call's worst case. */
export class BudgetExhausted extends Error {}

/** The spend book could not record the call before it was made: it is not made (nothing may be spent unrecorded). */
export class SpendUnrecorded extends Error {}

/** Everything one attempt needs; the same for every attempt of an escalation. */
export interface CallPlan<T> {
  book: SpendBook;
  provider: FrontierProvider;
  price: ModelPrice;
  request: FrontierRequest;
  tenant: { id: string; dailyBudgetUsd: number };
  requestId: string;
  reason: string;
  worstCaseUsd: number;
  /** Input tokens of the request as the reservation counted them. */
  inputTokens: number;
  /** The caller's signal: aborted when the client goes away. */
  signal: AbortSignal;
  /** The escalation's deadline is the caller's (its request ends before the escalation budget would). */
  deadlineIsCallers: boolean;
  parse(answer: unknown): T;
  /** After each call, with what it cost: synchronously, before the settlement is written. */
  onSettled(settlement: CallSettlement): void;
  /**
   * The settlement's write, started but not awaited: it runs beside the escalation's ledger row (one round trip
   * fewer on a shared store); the escalation awaits both before it answers. Resolves with whether it was written.
   */
  onSettling(write: Promise<{ written: boolean; error?: Error }>, settlement: CallSettlement): void;
}

export interface CallResult<T> {
  value: T;
  cost: CallCost;
}

/**
 * The write-ahead step of an attempt (0 for the first): the budget check and the pending row at the call's worst
 * case, in one step. Its id, or BudgetExhausted, or SpendUnrecorded when the book could not be written.
 */
export async function reserveAttempt(plan: Pick<CallPlan<unknown>, "book" | "tenant" | "requestId" | "provider" | "reason" | "worstCaseUsd">, attempt: number): Promise<number> {
  let id: number | undefined;
  try {
    id = await plan.book.reserve(
      {
        time: new Date(),
        tenant: plan.tenant.id,
        requestId: plan.requestId,
        provider: plan.provider.name,
        frontierModel: plan.provider.model,
        reason: plan.reason,
        attempt: attempt + 1,
        reservedUsd: plan.worstCaseUsd,
      },
      plan.tenant.dailyBudgetUsd,
    );
  } catch (error) {
    throw new SpendUnrecorded(`the call could not be recorded before it was made: ${(error as Error).message}`, { cause: error });
  }
  if (id === undefined) throw new BudgetExhausted();
  return id;
}

/**
 * One frontier call, written ahead: recorded as pending at its worst case (by `reserved`, the attempt's reservation
 * already under way, or here) before the request leaves, then settled with what it cost and how it ended. The call is
 * bounded by `limit` (response body included) and the caller's signal; an answer that does not parse is an
 * `invalid_answer` billed from the provider's usage.
 */
export async function callOnce<T>(plan: CallPlan<T>, limit: AttemptLimit, attempt: number, reserved?: Promise<number>): Promise<CallResult<T>> {
  const id = await (reserved ?? reserveAttempt(plan, attempt));
  const started = performance.now();
  const deadline = callSignal(plan.signal, limit.timeoutMs);
  let value: T | undefined;
  let failure: FrontierError | undefined;
  let cost: CallCost;
  try {
    const reply = await plan.provider.call(plan.request, { signal: deadline.signal });
    cost = callCost(plan.price, reply.usage, { inputTokens: plan.inputTokens, outputText: reply.outputText }, plan.worstCaseUsd);
    try {
      value = plan.parse(reply.answer);
    } catch (error) {
      failure = error instanceof FrontierError ? error : new FrontierError("invalid_answer", (error as Error).message);
    }
  } catch (error) {
    failure = classify(error, plan, limit, deadline.timedOut());
    const { usage, outputText } = failure.options;
    if (usage || outputText !== undefined) cost = callCost(plan.price, usage, { inputTokens: plan.inputTokens, outputText }, plan.worstCaseUsd);
    // An error status is not billed; an answer, a timeout or a broken-off call may have been: the worst case.
    else cost = failure.maybeBilled ? { costUsd: plan.worstCaseUsd, inputTokens: null, outputTokens: null, usageSource: "reserved" } : NOT_BILLED;
  } finally {
    deadline.dispose();
  }

  const settlement: CallSettlement = { ...cost, result: failure?.failure ?? "ok", message: failure?.message ?? null, latencyMs: performance.now() - started };
  plan.onSettled(settlement);
  // A settlement that fails to be written leaves the row pending, counted at its worst case: never less than spent.
  plan.onSettling(
    plan.book.settle(id, settlement).then(
      () => ({ written: true }),
      (error: unknown) => ({ written: false, error: error as Error }),
    ),
    settlement,
  );
  if (failure) throw failure;
  return { value: value as T, cost };
}

const NOT_BILLED: CallCost = { costUsd: 0, inputTokens: null, outputTokens: null, usageSource: "none" };

/** A provider failure in the shared vocabulary; an abort is told apart by what fired: the client or the time limit. */
function classify(error: unknown, plan: CallPlan<unknown>, limit: AttemptLimit, timedOut: boolean): FrontierError {
  const aborted = error instanceof FrontierError ? error.failure === "aborted" : (error as Error | undefined)?.name === "AbortError";
  if (!aborted) return error instanceof FrontierError ? error : new FrontierError("connection", `${plan.provider.name}: ${String(error)}`);
  if (plan.signal.aborted || !timedOut) return new FrontierError("aborted", `${plan.provider.name}: the client went away during the call`);
  const whose = !limit.cutByDeadline ? "the provider's timeoutMs" : plan.deadlineIsCallers ? "the request's deadline" : "the escalation's time budget";
  return new FrontierError("timeout", `${plan.provider.name}: no complete answer within ${limit.timeoutMs} ms (${whose})`, {
    callerDeadline: limit.cutByDeadline && plan.deadlineIsCallers,
  });
}
