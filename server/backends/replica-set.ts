import { ServingError } from "../errors/registry.js";
import type { BackendContext, BackendFactory, ModelBackend, PlacementInfo } from "./backend.js";

/**
 * A model with `replicas`: one backend per device (its own worker pool or llama.cpp context), behind the same
 * interface as one backend. Each request goes to the replica with the least outstanding work per unit of capacity
 * (worker threads or sequences), so a slower CPU replica takes less than a GPU one and an idle one is used first.
 */
async function createReplicaSet(factory: BackendFactory, context: BackendContext): Promise<ModelBackend> {
  const { manifest, metrics } = context;
  const replicas = manifest.replicas!;
  const devices = replicas.map((r) => r.device);
  const backends: ModelBackend[] = [];
  try {
    for (const [i, replica] of replicas.entries()) {
      try {
        backends.push(await factory({ ...context, manifest: { ...manifest, device: replica.device }, workers: replica.workers, replicaDevices: devices }));
      } catch (error) {
        const code = error instanceof ServingError ? error.code : "ERR_MODEL_LOAD_FAILED";
        throw new ServingError(code, `${manifest.name}: replica ${i} on ${replica.device}: ${(error as Error).message}`, { cause: error });
      }
    }
  } catch (error) {
    await Promise.all(backends.map((b) => b.dispose().catch(() => undefined)));
    throw error;
  }
  const outstanding = backends.map(() => 0);
  const labels = backends.map((b, i) => `${i}:${b.placement.device}`);
  const pick = (): number => {
    let best = 0;
    for (let i = 1; i < backends.length; i++) {
      if (outstanding[i]! / backends[i]!.placement.workers < outstanding[best]! / backends[best]!.placement.workers) best = i;
    }
    return best;
  };
  const onReplica = async <T>(inputs: number, run: (backend: ModelBackend) => Promise<T>): Promise<T> => {
    const i = pick();
    outstanding[i]! += inputs;
    metrics.replicaInputs.inc({ model: manifest.name, replica: labels[i]! }, inputs);
    try {
      return await run(backends[i]!);
    } finally {
      outstanding[i]! -= inputs;
    }
  };
  const parts = backends.map((b) => b.placement);
  const placement: PlacementInfo = {
    provider: [...new Set(parts.map((p) => p.provider))].join("+"),
    device: parts.map((p) => p.device).join(","),
    workers: parts.reduce((sum, p) => sum + p.workers, 0),
    threadsPerWorker: Math.max(...parts.map((p) => p.threadsPerWorker)),
    replicas: parts,
  };
  const generating = backends.every((b) => b.generate);
  return {
    manifest,
    dir: context.dir,
    placement,
    classify: (texts, options) => onReplica(texts.length, (b) => b.classify(texts, options)),
    ...(generating ? { generate: (request, options) => onReplica(1, (b) => b.generate!(request, options)) } : {}),
    drain: async () => {
      await Promise.all(backends.map((b) => b.drain()));
    },
    dispose: async () => {
      await Promise.all(backends.map((b) => b.dispose()));
    },
    workerThreads: () => backends.flatMap((b) => b.workerThreads?.() ?? []),
  };
}

/** The backend for a model version: one on its `device`, or a replica set when it names `replicas`. */
export function createBackend(factory: BackendFactory, context: BackendContext): Promise<ModelBackend> {
  return context.manifest.replicas ? createReplicaSet(factory, context) : factory(context);
}
