import { Mutex } from "async-mutex";
import type { LlamaContext } from "node-llama-cpp";

type NativeContext = { sampleToken?: (...args: unknown[]) => Promise<unknown> };

/**
 * Makes the reads of a context's outputs one at a time. When sequences of unequal length share a decode, llama.cpp
 * reorders the output rows lazily, on the first read after the decode, and node-llama-cpp (3.21) reads them from
 * several threads at once: two reads then swap rows twice and one request gets another's answer (seen here: 2 to 4
 * of 197 emails classified on 4 sequences, and first tokens of chat completions). One read at a time lets the first
 * reorder before the next looks. node-llama-cpp has no option for it, so the read of its native context is wrapped;
 * the version is pinned, and the check below fails loudly if an upgrade renames it.
 */
export function serializeLogitReads(context: LlamaContext): void {
  const native = (context as unknown as { _ctx?: NativeContext })._ctx;
  const read = native?.sampleToken;
  if (!native || typeof read !== "function") {
    throw new Error("node-llama-cpp's context has no _ctx.sampleToken to serialize: check serial-logit-reads.ts against this node-llama-cpp version");
  }
  const lock = new Mutex();
  // The binding's methods are read-only on its prototype: an own property of this one context shadows it.
  Object.defineProperty(native, "sampleToken", { value: (...args: unknown[]) => lock.runExclusive(() => read.apply(native, args)) });
}
