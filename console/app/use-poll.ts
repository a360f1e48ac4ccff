import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "./api.js";

/** Loads data now and every `intervalMs` (0: once) while the page is shown; `reload` fetches at once. */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[]): { data: T | undefined; error: string | null; reload: () => Promise<void> } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const current = useRef(load);
  current.current = load;
  const issued = useRef(0);
  const applied = useRef(0);
  const reload = useCallback(async () => {
    const id = ++issued.current;
    // A slow answer must not overwrite a newer one (a poll sent before an action, answered after the action's
    // reload, would show the item just labelled again).
    const fresh = () => id > applied.current && ((applied.current = id), true);
    try {
      const value = await current.current();
      if (fresh()) (setData(value), setError(null));
    } catch (e) {
      if (fresh()) setError(messageOf(e));
    }
  }, []);
  useEffect(() => {
    void reload();
    if (intervalMs <= 0) return;
    const timer = setInterval(() => void reload(), intervalMs);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { data, error, reload };
}
