import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { frontierPrompt } from "../../server/escalation/frontier-prompt.js";

/** Where a model folder keeps its escalation prompt (the manifest's escalation.prompt). */
export const FRONTIER_PROMPT_FILE = "prompts/frontier.txt";

/** Checks a frontier prompt template against the labels (it fails early on one without {{input}}) and copies it in. */
export async function copyFrontierPrompt(output: string, file: string, labels: string[]): Promise<void> {
  const template = await readFile(file, "utf8");
  frontierPrompt(template, file, labels);
  await mkdir(join(output, "prompts"), { recursive: true });
  await writeFile(join(output, FRONTIER_PROMPT_FILE), template);
}
