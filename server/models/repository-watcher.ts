import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ServerConfig } from "../config/schema.js";
import type { Log } from "./log.js";
import type { ModelRegistry } from "./model-registry.js";
import { compareVersions, groupByName, pickVersion, scanRepository } from "./repository.js";

/** Size and newest change of a folder's files: a copy still being written changes it between two scans. */
async function folderStamp(dir: string): Promise<string> {
  let bytes = 0;
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const info = await stat(join(entry.parentPath, entry.name));
    bytes += info.size;
    newest = Math.max(newest, info.mtimeMs);
  }
  return `${bytes}:${newest}`;
}

/**
 * Polls the model repository and reloads a served model when a higher version folder appears, through the same
 * path as the admin endpoint (load beside, warm up, gate, swap). A new folder must look the same on two scans in a
 * row before it is loaded, so a copy in progress is not read half-written; a version that fails to load or fails
 * the gate is not tried again until its files change. Pinned models and models with a canary are left alone.
 * Folders whose model.json does not validate are reported to the registry (logged when they first appear).
 */
export class RepositoryWatcher {
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  /** Fingerprint (version + folder stamp) of a new version seen once, waiting for the next scan to agree. */
  private readonly pending = new Map<string, string>();
  private readonly rejected = new Map<string, string>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly config: Readonly<ServerConfig>,
    private readonly log: Log,
  ) {}

  start(): void {
    const interval = this.config.models.watchIntervalMs;
    if (interval === 0 || this.timer) return;
    this.timer = setInterval(() => void this.scan(), interval);
    this.timer.unref();
    this.log("info", `watching ${this.config.models.repository} for new model versions every ${interval} ms`);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over the repository (also run by tests). */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const scan = await scanRepository(this.config.models.repository);
      this.registry.noteUnreadable(scan.invalid);
      const byName = groupByName(scan.models);
      for (const state of this.registry.list()) {
        const name = state.manifest.name;
        if (this.config.models.overrides[name]?.version !== undefined || this.registry.canaryOf(name)) continue;
        const latest = pickVersion(byName.get(name) ?? [], undefined);
        if (!latest || compareVersions(latest.manifest.version, state.manifest.version) <= 0) {
          this.pending.delete(name);
          continue;
        }
        const fingerprint = `${latest.manifest.version}@${await folderStamp(latest.dir)}`;
        if (this.rejected.get(name) === fingerprint) continue;
        if (this.pending.get(name) !== fingerprint) {
          this.pending.set(name, fingerprint);
          continue;
        }
        this.pending.delete(name);
        try {
          await this.registry.reload(name, { version: latest.manifest.version, trigger: "watch" });
          this.rejected.delete(name);
        } catch (error) {
          this.rejected.set(name, fingerprint);
          this.log("warn", `${name}: new version ${latest.manifest.version} found in the repository was not swapped in (retried when its files change): ${(error as Error).message}`);
        }
      }
    } catch (error) {
      this.log("warn", `watching ${this.config.models.repository}: ${(error as Error).message}`);
    } finally {
      this.scanning = false;
    }
  }
}
