import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MODELS_DIR } from "./server.js";

export interface VersionOptions {
  /** A model file that is not an ONNX graph: the version fails to load. */
  corrupt?: boolean;
  /** Labels in the opposite order: the same network, every answer flipped (a badly regressed version). */
  flipped?: boolean;
  /** Served under another model name (default email-spam). */
  name?: string;
}

/** A copy of the bundled ONNX model as `<repository>/<name>/<version>/` (name: email-spam unless given). */
export async function addVersion(repository: string, version: string, options: VersionOptions = {}): Promise<string> {
  const name = options.name ?? "email-spam";
  const dir = join(repository, name, version);
  await mkdir(dir, { recursive: true });
  await cp(join(MODELS_DIR, "email-spam", "1"), dir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(dir, "model.json"), "utf8"));
  await writeFile(join(dir, "model.json"), JSON.stringify({ ...manifest, name, version, ...(options.flipped ? { labels: [...manifest.labels].reverse() } : {}) }));
  if (options.corrupt) await writeFile(join(dir, "model.onnx"), Buffer.from("this is not an ONNX graph"));
  return dir;
}

/** Polls every `everyMs` until `check` holds, or fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
