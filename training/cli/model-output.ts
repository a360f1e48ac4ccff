import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import { nextVersion } from "../../server/models/repository.js";

export interface ModelOutputFlags {
  name: string;
  version?: string;
  output?: string;
  repository: string;
}

const exists = (path: string) => stat(path).then(() => true, () => false);

/**
 * Where a trained model is written: `<repository>/<name>/<version>/` (the layout the server reads), the version one
 * more than the highest already there unless `--version` says; `-o` writes elsewhere (and may overwrite). A default
 * folder never overwrites a version, and a deprecated flat folder is not written beside.
 */
export async function modelOutput(flags: ModelOutputFlags): Promise<{ output: string; version: string }> {
  if (flags.output !== undefined) {
    const output = resolve(flags.output);
    return { output, version: flags.version ?? (/^\d+$/.test(basename(output)) ? basename(output) : "1") };
  }
  const modelDir = join(resolve(flags.repository), flags.name);
  if (await exists(join(modelDir, "model.json"))) {
    throw new InvalidArgumentError(
      `${modelDir} is a flat model folder (deprecated): move it into a version folder first (mv ${modelDir} ${modelDir}.1 && mkdir ${modelDir} && mv ${modelDir}.1 ${join(modelDir, "1")}), or give -o`,
    );
  }
  const version = flags.version ?? (await nextVersion(flags.repository, flags.name));
  if (!/^[A-Za-z0-9._-]+$/.test(version)) throw new InvalidArgumentError(`--version '${version}': use letters, digits, '.', '_' or '-' (it names a folder)`);
  const output = join(modelDir, version);
  if (await exists(join(output, "model.json"))) {
    throw new InvalidArgumentError(`${output} already holds a model: choose another --version (default: the next number), or give -o ${output} to overwrite it`);
  }
  return { output, version };
}
