/**
 * Near-duplicates a cache should recognise, made from a real email the way they arise: the same message with its
 * lines in another order, or with other names and numbers (a mail-merge, a resent invoice). And its negation, which
 * it must not: the same words with one "not", a different message.
 */

const NAMES = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kiri", "Lena"];

export function reorderLines(text: string, rng: () => number): string | undefined {
  const lines = text.split("\n");
  if (lines.filter((l) => l.trim().length > 0).length < 3) return undefined;
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  const reordered = lines.join("\n");
  return reordered === text ? undefined : reordered;
}

export function changeNamesAndNumbers(text: string, rng: () => number): string | undefined {
  const capitalised = [...new Set(text.match(/\b[A-Z][a-z]{2,}\b/g) ?? [])];
  const renamed = new Map(capitalised.filter(() => rng() < 0.3).slice(0, 4).map((w) => [w, NAMES[Math.floor(rng() * NAMES.length)]!]));
  const changed = text
    .replace(/\b[A-Z][a-z]{2,}\b/g, (w) => renamed.get(w) ?? w)
    .replace(/\d/g, () => String(Math.floor(rng() * 10)));
  return changed === text ? undefined : changed;
}

/** One "not" after the first auxiliary verb ("is", "will", "can", …), or undefined when the text has none. */
export function negate(text: string): string | undefined {
  const match = /\b(is|are|was|were|will|can|could|should|would|do|does|did|have|has)\s/i.exec(text);
  if (!match) return undefined;
  const at = match.index + match[1]!.length;
  return `${text.slice(0, at)} not${text.slice(at)}`;
}
