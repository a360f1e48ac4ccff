import type { LlamaContext } from "node-llama-cpp";

type NativeCall = (...args: unknown[]) => Promise<unknown>;
type NativeContext = { sampleToken?: NativeCall; decodeBatch?: NativeCall; addToBatch?: (...args: unknown[]) => unknown };

/**
 * Hands every sequence the token it sampled from a decode at the same moment, once all of that decode's reads are in.
 * node-llama-cpp (3.21) decodes again at once when any sequence has queued its next token by the time its reads are
 * done, and holds the context's lock while it does. Reads finish one by one, so the last sequence to get its token
 * missed the next decode (each step held 3 of 4 sequences, a different one left out each time); and a sequence
 * starting its next request, whose first act is to erase what it held (which takes that lock), waited until every
 * other sequence had finished its request: one request in four took two requests' time. With the tokens handed out
 * together, and generation waiting one event-loop turn before asking for the next token (sequence-generation.ts),
 * the dispatcher finds nothing queued after a step, lets the lock go, and the next step has every sequence. A read
 * the count did not foresee is released one turn after the others have ended, so nothing waits for ever.
 */
export function releaseDecodeReadsTogether(context: LlamaContext): void {
  const native = (context as unknown as { _ctx?: NativeContext })._ctx;
  const read = native?.sampleToken;
  const decode = native?.decodeBatch;
  const add = native?.addToBatch;
  if (!native || typeof read !== "function" || typeof decode !== "function" || typeof add !== "function") {
    throw new Error("node-llama-cpp's context has no _ctx.sampleToken, decodeBatch or addToBatch to wrap: check decode-step-reads.ts against this node-llama-cpp version");
  }
  /** Output rows asked for in the batch being built, then in the last decode. */
  let asked = 0;
  let expected = 0;
  let done = 0;
  let inFlight = 0;
  let held: Array<() => void> = [];
  let fallback = false;
  const release = () => {
    const waiting = held;
    held = [];
    for (const hand of waiting) hand();
  };
  const settle = () => {
    done++;
    if (--inFlight > 0) return;
    if (done >= expected) return release();
    // Fewer reads than rows asked for so far: one more turn for the rest, then whatever is in goes out.
    if (fallback) return;
    fallback = true;
    setImmediate(() => {
      fallback = false;
      if (inFlight === 0) release();
    });
  };
  const wrap = (name: keyof NativeContext, value: unknown) => Object.defineProperty(native, name, { value, configurable: true });
  // The binding's methods are read-only on its prototype: own properties of this one context shadow them.
  wrap("addToBatch", (...args: unknown[]) => {
    asked += (args[3] as ArrayLike<number> | undefined)?.length ?? 0;
    return add.apply(native, args);
  });
  wrap("decodeBatch", (...args: unknown[]) => {
    release();
    expected = asked;
    asked = 0;
    done = 0;
    return decode.apply(native, args);
  });
  wrap("sampleToken", (...args: unknown[]) => {
    inFlight++;
    return new Promise((resolve, reject) => {
      read.apply(native, args).then(
        (value) => held.push(() => resolve(value)),
        (error: unknown) => held.push(() => reject(error)),
      ).finally(settle);
    });
  });
}
