import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ServerConfig } from "../config/schema.js";
import type { Log } from "./log.js";
import type { ModelRegistry } from "./model-registry.js";
import { compareVersions, groupByName, pickVersion, scanRepository, type ModelEntry } from "./repository.js";

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
 * With `models.serve: "all"`, a new model folder is loaded (hot add) and a served model whose folder is gone on two
 * scans in a row is drained and unloaded; a model an admin unloaded is not added back.
 * Folders whose model.json does not validate are reported to the registry (logged when they first appear).
 */
export class RepositoryWatcher {
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  /** Fingerprint (version + folder stamp) of a new version or model seen once, waiting for the next scan to agree. */
  private readonly pending = new Map<string, string>();
  private readonly rejected = new Map<string, string>();
  /** Served models whose folder was missing at the last scan. */
  private readonly missing = new Set<string>();

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
    this.log("info", `watching ${this.config.models.repository} for new model versions${this.config.models.serve === "all" ? " and new or removed models" : ""} every ${interval} ms`);
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
      this.registry.noteScan(scan);
      const byName = groupByName(scan.models);
      if (this.config.models.serve === "all") {
        await this.removeGone(new Set([...byName.keys(), ...this.registry.unreadableFolders().map((bad) => bad.name)]));
        await this.addNew(byName);
      }
      for (const state of this.registry.list()) {
        const name = state.manifest.name;
        if (this.config.models.overrides[name]?.version !== undefined || this.registry.canaryOf(name)) continue;
        const latest = pickVersion(byName.get(name) ?? [], undefined);
        const floor = this.registry.watchFloor(name);
        if (!latest || compareVersions(latest.manifest.version, state.manifest.version) <= 0 || (floor !== undefined && compareVersions(latest.manifest.version, floor) <= 0)) {
          this.pending.delete(name);
          continue;
        }
        if (!(await this.settled(name, `${latest.manifest.version}@${await folderStamp(latest.dir)}`))) continue;
        try {
          await this.registry.reload(name, { version: latest.manifest.version, trigger: "watch", by: { actor: "watcher", reason: "new version folder in the repository" } });
          this.rejected.delete(name);
        } catch (error) {
          this.log("warn", `${name}: new version ${latest.manifest.version} found in the repository was not swapped in (retried when its files change): ${(error as Error).message}`);
        }
      }
    } catch (error) {
      this.log("warn", `watching ${this.config.models.repository}: ${(error as Error).message}`);
    } finally {
      this.scanning = false;
    }
  }

  /**
   * True once `fingerprint` was seen on the previous scan too and was not already refused: a folder still being
   * copied changes between scans, and one that failed is tried again only when its files change.
   */
  private async settled(key: string, fingerprint: string): Promise<boolean> {
    if (this.rejected.get(key) === fingerprint) return false;
    if (this.pending.get(key) !== fingerprint) {
      this.pending.set(key, fingerprint);
      return false;
    }
    this.pending.delete(key);
    this.rejected.set(key, fingerprint);
    return true;
  }

  /** Models in the repository that nothing serves and no admin unloaded: loaded once their folder has settled. */
  private async addNew(byName: Map<string, ModelEntry[]>): Promise<void> {
    const served = new Set(this.registry.list().map((state) => state.manifest.name));
    for (const [name, versions] of byName) {
      if (served.has(name) || this.registry.isRemoved(name)) continue;
      const latest = pickVersion(versions, undefined)!;
      if (!(await this.settled(`new:${name}`, `${latest.manifest.version}@${await folderStamp(latest.dir)}`))) continue;
      try {
        await this.registry.add(name, { by: { actor: "watcher", reason: "new model folder in the repository" } });
        this.rejected.delete(`new:${name}`);
      } catch (error) {
        this.log("warn", `${name}: new model found in the repository was not loaded (retried when its files change): ${(error as Error).message}`);
      }
    }
  }

  /** Served models whose folder is gone on two scans in a row: drained and unloaded. */
  private async removeGone(present: Set<string>): Promise<void> {
    for (const state of this.registry.list()) {
      const name = state.manifest.name;
      if (present.has(name)) {
        this.missing.delete(name);
        continue;
      }
      if (!this.missing.has(name)) {
        this.missing.add(name);
        continue;
      }
      this.missing.delete(name);
      try {
        await this.registry.remove(name, { actor: "watcher", reason: "its folder left the repository", folderRemoved: true });
      } catch (error) {
        this.log("warn", `${name}: its folder left the repository but it could not be unloaded: ${(error as Error).message}`);
      }
    }
  }
}
