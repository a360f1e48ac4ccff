import { ModelManifest } from "../../server/models/manifest-validation.js";

/** A two-label classifier's manifest; with `similarity`, a calibrated semantic-cache block (so the cache takes part). */
export const semanticManifest = (version: string, similarity?: number) =>
  ModelManifest.parse({
    name: "m",
    version,
    format: "onnx",
    task: "text-classification",
    labels: ["ham", "spam"],
    ...(similarity !== undefined
      ? { semanticCache: { embedder: "lexical-v1", similarity, falseHitTarget: 0.005, falseHitUpperBound: 0.004, pairs: 1000, hits: 900, falseHits: 0, calibratedOn: "test data" } }
      : {}),
  });
