import type { FastifyReply, FastifyRequest } from "fastify";
import type { Caller } from "../serving/caller.js";
import { disconnectSignal } from "./disconnect-signal.js";

/** The serving layer's view of an HTTP request: who asks, its id, when it arrived, and a signal for a disconnect. */
export function callerOf(request: FastifyRequest, reply: FastifyReply, arrived: number): Caller {
  return {
    tenant: request.tenant!,
    requestId: request.id,
    signal: disconnectSignal(reply),
    arrived,
    onModel: (name) => (request.metricsModel = name),
  };
}
