import { words } from "./lexical-vector.js";

// English negation words; a contraction ("don't", "isn't", "won't") counts as "not". Lexical vectors barely move
// when one "not" is added to a long text, and semantic caches are known to answer a negated question with the
// positive one's answer: two texts whose negations differ are never the same text here, however close.
const CUES = new Set(["not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without", "cannot", "cant", "dont", "wont"]);

/** The negation words of a text with their counts, as a short canonical string ("" when it has none). */
export function negationSignature(text: string): string {
  const counts = new Map<string, number>();
  for (const word of words(text)) {
    const cue = word.endsWith("n't") ? "not" : word.replace(/'/g, "");
    if (!CUES.has(cue) && !word.endsWith("n't")) continue;
    counts.set(cue, (counts.get(cue) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([cue, n]) => `${cue}:${n}`).join(",");
}
