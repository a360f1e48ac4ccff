import { createHash } from "node:crypto";
import type { LabelledExample } from "../../server/evaluation/example.js";

/** A fingerprint of a split, so a model card names exactly the data it was trained and tested on. */
export function hashExamples(examples: LabelledExample[]): string {
  const hash = createHash("sha256");
  for (const e of examples) hash.update(`${e.id}\u0000${e.label}\u0000${e.text}\u0000`);
  return `sha256:${hash.digest("hex")}`;
}
