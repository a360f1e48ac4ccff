import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { ServingError } from "../../errors/registry.js";

export interface SessionPlacement {
  /** auto | cpu | cuda | cuda:N */
  device: string;
  intraOpThreads: number;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: "cpu" | "cuda";
  deviceId: number | undefined;
  /** Why `auto` ended on CPU; logged once by the caller. */
  fallbackReason: string | undefined;
}

/**
 * Why the CUDA execution provider cannot be used here, or undefined when its library is installed. onnxruntime-node
 * keeps its native libraries in its package; the CUDA EP is there only when its install script fetched it.
 */
export function cudaProviderMissing(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = dirname(require.resolve("onnxruntime-node/package.json"));
    const lib = join(pkg, "bin", "napi-v6", process.platform, process.arch, "libonnxruntime_providers_cuda.so");
    if (process.platform !== "linux") return undefined; // elsewhere the library names differ: just try
    return existsSync(lib) ? undefined : `CUDA execution provider not installed (${lib} missing; install with ONNXRUNTIME_NODE_INSTALL_CUDA=v12, see Dockerfile.cuda)`;
  } catch {
    return undefined;
  }
}

function cudaDeviceId(device: string): number {
  const match = /^cuda:(\d+)$/.exec(device);
  return match ? Number(match[1]) : 0;
}

/**
 * ORT never falls back from CUDA by itself (the session just fails), so `auto` tries CUDA, then CPU;
 * an explicit `cuda` that cannot load is an error naming the cause.
 */
export async function openSession(modelPath: string, placement: SessionPlacement): Promise<OpenedSession> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: placement.intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  };
  const explicitCuda = placement.device.startsWith("cuda");
  let fallbackReason: string | undefined;
  if (placement.device !== "cpu") {
    const missing = cudaProviderMissing();
    if (missing && explicitCuda) throw new ServingError("ERR_DEVICE_UNAVAILABLE", `device '${placement.device}' requested but ${missing}`);
    if (missing) fallbackReason = missing;
    else {
      const deviceId = cudaDeviceId(placement.device);
      try {
        const session = await ort.InferenceSession.create(modelPath, {
          ...base,
          // ORT logs a failed CUDA load itself; under `auto` the caller reports it once, in one line.
          logSeverityLevel: explicitCuda ? 3 : 4,
          executionProviders: [{ name: "cuda", deviceId }],
        });
        return { session, provider: "cuda", deviceId, fallbackReason: undefined };
      } catch (cause) {
        const reason = (cause as Error).message.split("\n")[0] ?? String(cause);
        if (explicitCuda) {
          throw new ServingError("ERR_DEVICE_UNAVAILABLE", `device '${placement.device}' requested but the CUDA execution provider did not load: ${reason}`, { cause });
        }
        fallbackReason = reason;
      }
    }
  }
  try {
    const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ["cpu"] });
    return { session, provider: "cpu", deviceId: undefined, fallbackReason };
  } catch (cause) {
    throw new ServingError("ERR_MODEL_LOAD_FAILED", `${modelPath}: ${(cause as Error).message}`, { cause });
  }
}

export { ort };
