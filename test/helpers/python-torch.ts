import { spawnSync } from "node:child_process";

/** Debian's Python, where python3-torch installs (as `train-gguf --python` and `train --arch bert` default to). */
export const PYTHON = "/usr/bin/python3";

/**
 * Why PyTorch tests cannot run here, or undefined when they can. In CI its absence is an error, not a skip: .ci/run
 * installs it.
 */
export function torchMissing(tests: string): string | undefined {
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  const missing = probe.status === 0 ? undefined : "python3 with torch (Debian: apt-get install python3-torch)";
  if (missing && process.env.CI) throw new Error(`${missing}: .ci/run installs it`);
  if (missing) console.warn(`${tests} skipped: ${missing}; run scripts/install-test-services.sh`);
  return missing;
}
