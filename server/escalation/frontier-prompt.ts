import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { ModelBackend } from "../backends/backend.js";
import { ServingError } from "../errors/registry.js";
import { describeAnswer, FrontierError } from "./frontier-error.js";

/** Used when a model folder has no prompt of its own. `{{labels}}` and `{{input}}` are filled in. */
export const GENERIC_PROMPT = `You are a careful text classifier. Classify the input into exactly one of these labels: {{labels}}.
Answer only with the label, in the JSON format requested.

Input:
"""
{{input}}
"""`;

export interface FrontierPrompt {
  /** Identifies the template in records: file name and a hash of its content, so an edited prompt is told apart. */
  id: string;
  render(input: string): { system: string; user: string };
  /** JSON schema the answer must follow (OpenAI response_format / Anthropic tool input). */
  answerSchema: Record<string, unknown>;
  parseAnswer(value: unknown): string;
}

export function frontierPrompt(template: string, id: string, labels: readonly string[]): FrontierPrompt {
  if (!template.includes("{{input}}")) {
    throw new ServingError("ERR_MANIFEST_INVALID", `frontier prompt ${id} has no {{input}} placeholder`);
  }
  const Answer = z.object({ label: z.enum(labels as [string, ...string[]]) }).strict();
  const answerSchema = {
    type: "object",
    properties: { label: { type: "string", enum: [...labels] } },
    required: ["label"],
    additionalProperties: false,
  };
  const list = labels.map((l) => JSON.stringify(l)).join(", ");
  return {
    id: `${id}@${createHash("sha256").update(template).digest("hex").slice(0, 12)}`,
    answerSchema,
    render: (input) => {
      // One pass over the template, so an input containing "{{labels}}" is not expanded.
      const user = template.replace(/\{\{(input|labels)\}\}/g, (_, name: string) => (name === "input" ? input : list));
      return { system: "You classify texts for an automated system. Reply with JSON only.", user };
    },
    parseAnswer: (value) => {
      const parsed = Answer.safeParse(value);
      if (!parsed.success) {
        const label = (value as { label?: unknown } | null)?.label;
        const got = typeof label === "string" && label.length <= 40 ? `label ${JSON.stringify(label)}` : describeAnswer(value);
        throw new FrontierError("invalid_answer", `the answer (${got}) is not {"label": one of ${list}}`);
      }
      return parsed.data.label;
    },
  };
}

export async function loadFrontierPrompt(modelDir: string, file: string | undefined, labels: readonly string[]): Promise<FrontierPrompt> {
  if (!file) return frontierPrompt(GENERIC_PROMPT, "generic", labels);
  const template = await readFile(join(modelDir, file), "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new ServingError("ERR_MANIFEST_INVALID", `frontier prompt ${file} cannot be read: ${error.code ?? error.message}`);
  });
  return frontierPrompt(template, file, labels);
}

/** Each loaded model version's frontier prompt, read once. */
export class FrontierPromptCache {
  private readonly prompts = new WeakMap<ModelBackend, Promise<FrontierPrompt>>();

  get(backend: ModelBackend): Promise<FrontierPrompt> {
    let prompt = this.prompts.get(backend);
    if (!prompt) this.prompts.set(backend, (prompt = loadFrontierPrompt(backend.dir, backend.manifest.escalation.prompt, backend.manifest.labels)));
    return prompt;
  }
}
