/** The abort signal of one frontier call: the caller's, or a timer at the call's limit; says which one fired. */
export interface CallSignal {
  signal: AbortSignal;
  timedOut(): boolean;
  dispose(): void;
}

export function callSignal(caller: AbortSignal, timeoutMs: number): CallSignal {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(caller.reason);
  if (caller.aborted) controller.abort(caller.reason);
  else caller.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no complete answer within ${timeoutMs} ms`, "TimeoutError"));
  }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      caller.removeEventListener("abort", onAbort);
    },
  };
}
