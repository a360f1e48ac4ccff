import { describe, expect, it } from "vitest";
import type { LabelledExample } from "../../training/data/example.js";
import { normaliseForDedup, randomSplits, temporalSplits } from "../../training/data/split.js";

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
});
