/** The page's one message line: errors are announced at once (role=alert), confirmations politely. */
export interface NoticeState {
  kind: "error" | "info";
  text: string;
}

export function Notice({ notice }: { notice: NoticeState | null }) {
  return (
    <p class={`notice ${notice?.kind ?? ""}`} role={notice?.kind === "error" ? "alert" : "status"} aria-live={notice?.kind === "error" ? "assertive" : "polite"} data-testid="notice">
      {notice?.text ?? ""}
    </p>
  );
}
