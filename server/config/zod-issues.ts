import type { z } from "zod";

/** "server.port: expected number, received string; models.load[0]: …" — the path first, so the user knows what to fix. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join(".") : "(root)";
      const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
      return `${path}: ${issue.message}${keys}`;
    })
    .join("; ");
}
