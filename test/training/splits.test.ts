import { describe, expect, it } from "vitest";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { normaliseForDedup, randomSplits, temporalSplits } from "../../training/data/split.js";
import { loadSplits } from "../../training/data/load-splits.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

function fixture(): LabelledExample[] {
  const out: LabelledExample[] = [];
  for (let i = 0; i < 300; i++) {
    const label = i % 4 === 0 ? "spam" : "ham";
    out.push({ id: String(i), text: `message ${i} about ${label}`, label, category: i < 150 ? `${label}-1` : `${label}-2` });
  }
  // Copies that differ only in case and white space, as in the real corpus.
  for (let i = 0; i < 20; i++) out.push({ id: `copy-${i}`, text: `MESSAGE   ${i * 7} about ${(i * 7) % 4 === 0 ? "spam" : "ham"}`, label: (i * 7) % 4 === 0 ? "spam" : "ham" });
  return out;
}

const ids = (xs: LabelledExample[]) => xs.map((e) => e.id);
const settings = { seed: 3, testFraction: 0.2, validationFraction: 0.1 };

describe("splits", () => {
  it("are the same for the same seed and differ for another", () => {
    const a = randomSplits(fixture(), settings);
    const b = randomSplits(fixture(), settings);
    const c = randomSplits(fixture(), { ...settings, seed: 4 });
    expect(ids(a.test)).toEqual(ids(b.test));
    expect(ids(a.train)).toEqual(ids(b.train));
    expect(ids(a.test)).not.toEqual(ids(c.test));
  });

  it("remove duplicate texts so no copy sits on both sides", () => {
    const s = randomSplits(fixture(), settings);
    expect(s.duplicatesRemoved).toBe(20);
    const seen = new Map<string, string>();
    for (const [name, split] of Object.entries({ train: s.train, validation: s.validation, test: s.test })) {
      for (const e of split) {
        const key = normaliseForDedup(e.text);
        expect(seen.has(key), `${e.id} in ${name} and ${seen.get(key)}`).toBe(false);
        seen.set(key, name);
      }
    }
  });

  it("keep the class balance (stratified 80/20, validation from train)", () => {
    const s = randomSplits(fixture(), settings);
    const share = (xs: LabelledExample[]) => xs.filter((e) => e.label === "spam").length / xs.length;
    expect(s.test.length).toBe(60);
    expect(s.train.length + s.validation.length).toBe(240);
    expect(share(s.test)).toBeCloseTo(0.25, 2);
    expect(share(s.train)).toBeCloseTo(0.25, 1);
  });

  it("temporal: trains on the early period and tests on the late one", () => {
    const s = temporalSplits(fixture().filter((e) => e.category), (e) => e.category!.endsWith("-1"), settings);
    expect(s.test.every((e) => e.category!.endsWith("-2"))).toBe(true);
    expect([...s.train, ...s.validation].every((e) => e.category!.endsWith("-1"))).toBe(true);
  });

  it("files: a validation file is used as it is and its texts are dropped from training; the test is carved", async () => {
    const dir = await mkdtemp(join(tmpdir(), "splits-"));
    try {
      const examples = fixture();
      const jsonl = (xs: LabelledExample[]) => xs.map((e) => JSON.stringify(e)).join("\n") + "\n";
      const validation = examples.slice(0, 30);
      await writeFile(join(dir, "train.jsonl"), jsonl(examples));
      await writeFile(join(dir, "validation.jsonl"), jsonl(validation));
      const s = await loadSplits({ kind: "file", train: join(dir, "train.jsonl"), validation: join(dir, "validation.jsonl") }, settings);
      expect(ids(s.validation)).toEqual(ids(validation));
      const held = new Set(validation.map((e) => normaliseForDedup(e.text)));
      expect(s.train.some((e) => held.has(normaliseForDedup(e.text)))).toBe(false);
      expect(s.test.some((e) => held.has(normaliseForDedup(e.text)))).toBe(false);
      // 320 rows: 20 copies and 30 validation texts removed, then 20% of the rest carved as test.
      expect(s.train.length + s.test.length).toBe(270);
      expect(s.test.length).toBe(54);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
