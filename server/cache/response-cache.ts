import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { Counter, Gauge, type Registry } from "prom-client";
import type { ModelManifest } from "../models/manifest.js";

/** Inputs that differ only in Unicode normal form or in white space are the same input (case is kept: it can matter). */
export function normaliseInput(text: string): string {
  return text.normalize("NFC").replace(/\s+/g, " ").trim();
}

/**
 * Exact-match answers (LRU + TTL) in front of the specialist and the frontier. Keys include the tenant, so one
 * tenant's traffic never answers (or reveals, by timing) another's, and the model version, so a new version
 * starts cold.
 */
export class ResponseCache<V extends object> {
  private readonly lru: LRUCache<string, V> | undefined;
  private readonly lookups: Counter<"model" | "result">;
  private readonly entries: Gauge;

  constructor(settings: { enabled: boolean; maxEntries: number; ttlMs: number }, registry: Registry) {
    this.lru = settings.enabled ? new LRUCache<string, V>({ max: settings.maxEntries, ttl: settings.ttlMs }) : undefined;
    this.lookups = new Counter({
      name: "specialist_cache_lookups_total",
      help: "Response cache lookups per input, by model and result (hit or miss).",
      labelNames: ["model", "result"] as const,
      registers: [registry],
    });
    const lru = this.lru;
    this.entries = new Gauge({
      name: "specialist_cache_entries",
      help: "Answers held in the response cache.",
      registers: [registry],
      collect() {
        this.set(lru?.size ?? 0);
      },
    });
  }

  private key(tenant: string, manifest: ModelManifest, text: string): string {
    // A digest, not the text: entries are counted, and 10,000 keys of 100,000-character inputs would hold gigabytes.
    const digest = createHash("sha256").update(normaliseInput(text)).digest("base64");
    return `${tenant}\u0000${manifest.name}@${manifest.version}\u0000${digest}`;
  }

  get(tenant: string, manifest: ModelManifest, text: string): V | undefined {
    if (!this.lru) return undefined;
    const value = this.lru.get(this.key(tenant, manifest, text));
    this.lookups.inc({ model: manifest.name, result: value ? "hit" : "miss" });
    return value;
  }

  set(tenant: string, manifest: ModelManifest, text: string, value: V): void {
    this.lru?.set(this.key(tenant, manifest, text), value);
  }
}
