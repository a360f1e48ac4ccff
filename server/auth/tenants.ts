import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { AuthSettings } from "../config/escalation-schema.js";
import { ServingError } from "../errors/registry.js";

export interface Tenant {
  id: string;
  role: "user" | "admin";
  dailyBudgetUsd: number;
  escalationsPerMinute: number;
}

/** The tenant every request acts as when no tenants are configured (loopback only, enforced by the config). */
export const OPEN_TENANT_ID = "local";

export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

export function newApiKey(): string {
  return `sk-spec-${randomBytes(24).toString("base64url")}`;
}

/**
 * Tenants and their hashed keys. A presented key is hashed and compared with every stored hash by
 * `timingSafeEqual`, without stopping at a match, so the time taken says nothing about which key (if any) matched.
 */
export class TenantDirectory {
  private readonly tenants = new Map<string, Tenant>();
  private readonly hashes: Array<{ digest: Buffer; tenant: Tenant }> = [];
  readonly open: boolean;

  constructor(settings: AuthSettings) {
    for (const [id, t] of Object.entries(settings.tenants)) {
      const tenant: Tenant = { id, role: t.role, dailyBudgetUsd: t.dailyBudgetUsd, escalationsPerMinute: t.escalationsPerMinute };
      this.tenants.set(id, tenant);
      for (const key of t.keys) this.hashes.push({ digest: Buffer.from(key.slice("sha256:".length), "hex"), tenant });
    }
    this.open = this.tenants.size === 0;
    if (this.open) {
      this.tenants.set(OPEN_TENANT_ID, { id: OPEN_TENANT_ID, role: "admin", ...settings.open });
    }
  }

  get(id: string): Tenant | undefined {
    return this.tenants.get(id);
  }

  list(): Tenant[] {
    return [...this.tenants.values()];
  }

  /** The tenant of an `Authorization` header, or 401 ERR_UNAUTHORIZED. */
  authenticate(header: string | undefined): Tenant {
    if (this.open) return this.tenants.get(OPEN_TENANT_ID)!;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!match) throw new ServingError("ERR_UNAUTHORIZED", "send the API key as `Authorization: Bearer <key>`");
    const digest = createHash("sha256").update(match[1]!, "utf8").digest();
    let found: Tenant | undefined;
    for (const entry of this.hashes) {
      if (timingSafeEqual(entry.digest, digest) && !found) found = entry.tenant;
    }
    if (!found) throw new ServingError("ERR_UNAUTHORIZED", "the API key is not valid");
    return found;
  }
}

export function requireAdmin(tenant: Tenant): void {
  if (tenant.role !== "admin") throw new ServingError("ERR_FORBIDDEN", `tenant '${tenant.id}' has the user role; this endpoint needs an admin key`);
}
