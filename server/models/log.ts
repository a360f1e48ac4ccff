/** How the model layer reports what it does (start-up, reloads, watched folders); the server passes its logger. */
export type Log = (level: "info" | "warn" | "error", message: string) => void;
