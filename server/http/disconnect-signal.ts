import type { FastifyReply } from "fastify";

/**
 * Aborts when the client goes away before the answer is written. fastify 5.12's `request.signal` fires for
 * every real-socket POST with a body, so it cannot be used; the response's `close` event before
 * `writableFinished` is a real disconnect.
 */
export function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
