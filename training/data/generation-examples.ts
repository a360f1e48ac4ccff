import { z } from "zod";
import { ServingError } from "../../server/errors/registry.js";
import { jsonlLines } from "../../server/batch/jsonl-file.js";

/** One labelled generation: a prompt or chat messages, the answer that is right, and optionally a JSON schema. */
const GenerationExample = z
  .object({
    prompt: z.string().min(1).optional(),
    messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }).strict()).min(1).optional(),
    /** The right answer: a text (compared without white space at the ends) or a JSON value (compared as JSON). */
    expected: z.unknown().refine((v) => v !== undefined, "expected is required"),
    /** The answer's JSON schema, as a request's response_format json_schema would give it. */
    schema: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((e) => (e.prompt === undefined) !== (e.messages === undefined), "give either prompt or messages");

export type GenerationExample = z.output<typeof GenerationExample> & { line: number };

/** A JSONL file of labelled generations, each line checked, with its line number kept. */
export async function readGenerationExamples(path: string): Promise<GenerationExample[]> {
  const examples: GenerationExample[] = [];
  for await (const { text, number } of jsonlLines(path)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ServingError("ERR_DATA_INVALID", `${path}:${number}: not JSON`);
    }
    const parsed = GenerationExample.safeParse(value);
    if (!parsed.success) throw new ServingError("ERR_DATA_INVALID", `${path}:${number}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "line"}: ${i.message}`).join("; ")}`);
    examples.push({ ...parsed.data, line: number });
  }
  return examples;
}
