/** Records are camelCase in TypeScript and snake_case in SQL (SQLite and PostgreSQL alike). */
export const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A SQL row with camelCase keys, less the columns in `hidden`. */
export function camelRow<T>(row: Record<string, unknown>, hidden: ReadonlySet<string> = new Set()): T {
  return Object.fromEntries(Object.entries(row).filter(([k]) => !hidden.has(k)).map(([k, v]) => [camel(k), v])) as T;
}
