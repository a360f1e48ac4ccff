import { isAbsolute, resolve } from "node:path";
import { AutoTokenizer, env, type PreTrainedTokenizer } from "@huggingface/transformers";

let offline = false;

/** Remote loading is switched off for the whole process: a model folder is the only source of tokenizer files. */
export function forceOfflineTokenizers(): void {
  if (offline) return;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  // `local_files_only` is not honoured for every file transformers.js reads, so no fetch may ever leave this process.
  env.fetch = async (input: string | URL) => {
    throw new Error(`remote loading is disabled (tried to fetch ${String(input)})`);
  };
  offline = true;
}

/** Loads `tokenizer.json` + `tokenizer_config.json` from a local folder. */
export async function loadLocalTokenizer(dir: string): Promise<PreTrainedTokenizer> {
  forceOfflineTokenizers();
  const path = isAbsolute(dir) ? dir : resolve(dir);
  return AutoTokenizer.from_pretrained(path, { local_files_only: true });
}
