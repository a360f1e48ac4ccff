import type { Command } from "commander";
import { hashApiKey, newApiKey } from "../auth/tenants.js";

/** Keys are stored hashed: this prints the hash to put in auth.tenants.<id>.keys (and a new key when none is given). */
export function registerHashKey(program: Command): void {
  program
    .command("hash-key")
    .description("Print the SHA-256 hash of an API key for auth.tenants.<id>.keys; with no key, make a new random one.")
    .argument("[key]", "the API key to hash (read it from a file or a secret store, not your shell history)")
    .action((key: string | undefined) => {
      const chosen = key ?? newApiKey();
      if (!key) console.log(`key:  ${chosen}   (give this to the tenant; it is not stored anywhere)`);
      console.log(`hash: ${hashApiKey(chosen)}`);
    });
}
