import { LRUCache } from "lru-cache";
import { Counter, Gauge, type Registry } from "prom-client";
import type { ModelManifest } from "../models/manifest.js";
import { LocalAnswerShare, type AnswerShare, type SharedAnswer } from "../state/answer-share.js";
import { cosine } from "./lexical-vector.js";
import { isSemanticHit, semanticKey, similarity, type SemanticKey } from "./semantic-match.js";

/** A frontier answer kept for the texts close to the one it answered. */
export interface StoredAnswer {
  label: string;
  provider: string;
  model: string;
}

export interface SemanticHit {
  answer: StoredAnswer;
  similarity: number;
}

export interface SemanticCacheSettings {
  enabled: boolean;
  /** Answers kept per tenant and model version; the oldest go first. */
  maxEntriesPerModel: number;
  ttlMs: number;
}

/** A key and its answer as replicas pass them: the vector's typed arrays in base64. */
interface EncodedEntry {
  ids: string;
  weights: string;
  negations: string;
  answer: StoredAnswer;
}

const bytes = (array: Uint32Array | Float32Array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64");

function encodeEntry(key: SemanticKey, answer: StoredAnswer): string {
  return JSON.stringify({ ids: bytes(key.vector.ids), weights: bytes(key.vector.weights), negations: key.negations, answer } satisfies EncodedEntry);
}

function decodeEntry(payload: string): { key: SemanticKey; answer: StoredAnswer } | undefined {
  try {
    const entry = JSON.parse(payload) as EncodedEntry;
    const ids = Buffer.from(entry.ids, "base64");
    const weights = Buffer.from(entry.weights, "base64");
    if (ids.length !== weights.length || ids.length % 4 !== 0 || typeof entry.answer?.label !== "string") return undefined;
    // Copied out: a Buffer from base64 may sit at an offset that is no multiple of 4 in a shared pool.
    const vector = { ids: new Uint32Array(new Uint8Array(ids).buffer), weights: new Float32Array(new Uint8Array(weights).buffer) };
    return { key: { vector, negations: String(entry.negations) }, answer: entry.answer };
  } catch {
    return undefined;
  }
}

interface Entry {
  key: SemanticKey;
  answer: StoredAnswer;
  expires: number;
}

/**
 * Frontier answers reused for texts close enough to the one they answered, per tenant and model version (a tenant's
 * answers never serve another; a new version starts cold). Only models whose manifest carries a calibrated
 * similarity take part. Each process searches its own memory exhaustively: a lookup only happens where a frontier
 * call (hundreds of milliseconds) would, and `bench semantic-cache` measures what it costs. In a fleet, answers
 * travel between replicas through the `AnswerShare` (a Redis stream), so one replica's frontier call serves all.
 */
export class SemanticCache {
  private readonly shelves: LRUCache<string, Entry[]>;
  private readonly lookups: Counter<"model" | "result">;

  constructor(
    private readonly settings: SemanticCacheSettings,
    registry: Registry,
    private readonly share: AnswerShare = new LocalAnswerShare(),
  ) {
    this.shelves = new LRUCache<string, Entry[]>({ max: 10_000 });
    this.lookups = new Counter({
      name: "specialist_semantic_cache_lookups_total",
      help: "Semantic cache lookups (instead of a frontier call), by model and result: hit, miss, or negation (a close text whose negation words differ, not reused).",
      labelNames: ["model", "result"] as const,
      registers: [registry],
    });
    const shelves = this.shelves;
    new Gauge({
      name: "specialist_semantic_cache_entries",
      help: "Frontier answers held in the semantic cache.",
      registers: [registry],
      collect() {
        let total = 0;
        for (const entries of shelves.values()) total += entries.length;
        this.set(total);
      },
    });
  }

  /** The key to look up and store with, or undefined when this model has no calibrated threshold (or the cache is off). */
  keyFor(manifest: ModelManifest, text: string): SemanticKey | undefined {
    return this.settings.enabled && manifest.semanticCache ? semanticKey(text) : undefined;
  }

  lookup(tenant: string, manifest: ModelManifest, key: SemanticKey): SemanticHit | undefined {
    const threshold = manifest.semanticCache?.similarity;
    if (threshold === undefined) return undefined;
    const entries = this.shelves.get(this.shelf(tenant, manifest)) ?? [];
    const now = Date.now();
    let best: Entry | undefined;
    let bestSimilarity = -1;
    let negation = false;
    for (const entry of entries) {
      if (entry.expires <= now) continue;
      const s = similarity(key, entry.key);
      if (s === undefined) {
        // Close enough in words alone, kept apart by the negation rule: counted, so the rule's effect shows.
        negation ||= cosine(key.vector, entry.key.vector) >= threshold;
        continue;
      }
      if (s > bestSimilarity) {
        bestSimilarity = s;
        best = entry;
      }
    }
    const hit = best && isSemanticHit(bestSimilarity, threshold) ? { answer: best.answer, similarity: bestSimilarity } : undefined;
    this.lookups.inc({ model: manifest.name, result: hit ? "hit" : negation ? "negation" : "miss" });
    return hit;
  }

  /** Takes in the answers other replicas shared, those already shared first: resolves once those are in. */
  async join(): Promise<void> {
    if (!this.settings.enabled) return;
    await this.share.subscribe((shared) => this.adopt(shared));
  }

  remember(tenant: string, manifest: ModelManifest, key: SemanticKey, answer: StoredAnswer): void {
    const shelf = this.shelf(tenant, manifest);
    const expires = Date.now() + this.settings.ttlMs;
    this.keep(shelf, { key, answer, expires });
    this.share.publish({ shelf, payload: encodeEntry(key, answer), expires });
  }

  private adopt(shared: SharedAnswer): void {
    const entry = decodeEntry(shared.payload);
    if (entry) this.keep(shared.shelf, { ...entry, expires: Math.min(shared.expires, Date.now() + this.settings.ttlMs) });
  }

  private keep(shelf: string, entry: Entry): void {
    const now = Date.now();
    const entries = (this.shelves.get(shelf) ?? []).filter((e) => e.expires > now);
    entries.push(entry);
    if (entries.length > this.settings.maxEntriesPerModel) entries.splice(0, entries.length - this.settings.maxEntriesPerModel);
    this.shelves.set(shelf, entries);
  }

  private shelf(tenant: string, manifest: ModelManifest): string {
    return `${tenant}\u0000${manifest.name}@${manifest.version}`;
  }
}
