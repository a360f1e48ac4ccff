import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { ServingError } from "../../errors/registry.js";

export interface LlamaRuntime {
  llama: Llama;
  /** Whether llama.cpp runs on a GPU backend ("cuda", "vulkan"…) or the CPU. */
  gpu: string | false;
  /** How many warnings and errors llama.cpp has logged so far. */
  messageCount(): number;
  /** Its warnings and errors since `count` (the last 50 at most): loadModel only says "Failed to load model". */
  messagesSince(count: number): string[];
}

const runtimes = new Map<string, Promise<LlamaRuntime>>();

/**
 * One llama.cpp binding per GPU choice for the whole process (getLlama takes about half a second and holds the
 * native backend). `auto` uses CUDA when its prebuilt binary and libraries load, else the CPU; an explicit
 * `cuda` that cannot load is an error. Builds from source are never attempted at run time.
 */
export function llamaRuntime(device: string, maxThreads: number): Promise<LlamaRuntime> {
  const gpu = device === "cpu" ? false : device === "auto" ? "auto" : "cuda";
  const key = `${gpu}`;
  let runtime = runtimes.get(key);
  if (!runtime) {
    runtime = createRuntime(gpu, maxThreads);
    runtimes.set(key, runtime);
    runtime.catch(() => runtimes.delete(key));
  }
  return runtime;
}

async function createRuntime(gpu: "auto" | "cuda" | false, maxThreads: number): Promise<LlamaRuntime> {
  const messages: string[] = [];
  let logged = 0;
  let llama: Llama;
  try {
    llama = await getLlama({
      gpu,
      build: "never",
      maxThreads,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        if (level === LlamaLogLevel.warn || level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
          messages.push(message.trim());
          logged++;
          if (messages.length > 50) messages.shift();
        }
      },
    });
  } catch (error) {
    if (gpu === "cuda") {
      throw new ServingError("ERR_DEVICE_UNAVAILABLE", `llama.cpp cannot use CUDA here: ${(error as Error).message}`, { cause: error });
    }
    throw new ServingError("ERR_MODEL_LOAD_FAILED", `llama.cpp did not start: ${(error as Error).message}`, { cause: error });
  }
  return {
    llama,
    gpu: llama.gpu,
    messageCount: () => logged,
    messagesSince: (count) => messages.slice(Math.max(0, messages.length - (logged - count))),
  };
}
