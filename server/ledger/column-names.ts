/** Records are camelCase in TypeScript and snake_case in SQL (SQLite and PostgreSQL alike). */
export const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
