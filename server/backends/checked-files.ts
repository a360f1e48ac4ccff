import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** Bytes of the file's start hashed into its fingerprint (for a GGUF: its header, metadata and tensor index). */
const HEAD_BYTES = 1 << 20;
/** Files remembered; the oldest are forgotten first. */
const MAX_ENTRIES = 256;

interface Fingerprint {
  size: number;
  mtimeMs: number;
  head: string;
}

interface CacheFile {
  version: 1;
  files: Record<string, Fingerprint & { validatedAt: string }>;
}

async function fingerprint(path: string): Promise<Fingerprint> {
  const info = await stat(path);
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(Math.min(HEAD_BYTES, info.size));
    await handle.read(buffer, 0, buffer.length, 0);
    return { size: info.size, mtimeMs: info.mtimeMs, head: createHash("sha256").update(buffer).digest("hex") };
  } finally {
    await handle.close();
  }
}

async function readCache(file: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as CacheFile;
    if (parsed?.version === 1 && parsed.files && typeof parsed.files === "object") return parsed;
  } catch {
    // missing or unreadable: start again
  }
  return { version: 1, files: {} };
}

const same = (a: Fingerprint, b: Fingerprint) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.head === b.head;

/**
 * Remembers the model files that passed a slow check (a GGUF's child-process validation, seconds per model), keyed
 * by path with their size, modification time and a hash of their first MiB, so a restart on unchanged files skips
 * it. Any change to a file checks it again; only passes are remembered. The cache file is rewritten whole through a
 * rename, so concurrent writers lose at most an entry (that file is then checked again), never corrupt it.
 */
export class CheckedFiles {
  constructor(private readonly file: string) {}

  /** Whether the file, as it is now, passed the check before. */
  async passed(path: string): Promise<boolean> {
    const known = (await readCache(this.file)).files[resolve(path)];
    return known !== undefined && same(known, await fingerprint(path));
  }

  /** Records that the file, as it is now, passed the check; a cache that cannot be written only costs a check. */
  async remember(path: string): Promise<void> {
    try {
      const cache = await readCache(this.file);
      cache.files[resolve(path)] = { ...(await fingerprint(path)), validatedAt: new Date().toISOString() };
      const entries = Object.entries(cache.files).sort((a, b) => a[1].validatedAt.localeCompare(b[1].validatedAt));
      cache.files = Object.fromEntries(entries.slice(-MAX_ENTRIES));
      await mkdir(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(temporary, JSON.stringify(cache));
      await rename(temporary, this.file);
    } catch {
      // read-only home, full disk: the next start checks the file again
    }
  }
}

/** The backend context's `checkedFiles` for the configured cache file (models.checkedFiles), or none when it is off. */
export function checkedFilesFor(file: string | false): { checkedFiles?: CheckedFiles } {
  return file === false ? {} : { checkedFiles: new CheckedFiles(file) };
}
