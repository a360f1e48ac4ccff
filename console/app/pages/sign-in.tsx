import { useState } from "preact/hooks";
import { apiWithKey, messageOf } from "../api.js";
import type { Me } from "../types.js";

/** Sign in with a tenant's API key: the key is checked against the server and kept for this tab only. */
export function SignIn({ onSignedIn }: { onSignedIn: (key: string, me: Me) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      onSignedIn(key.trim(), await apiWithKey(key.trim())<Me>("/v1/me"));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">Sign in</h2>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} aria-describedby="api-key-help" />
      <p id="api-key-help" class="help">
        A tenant's key from the server's auth.tenants. Admin keys see everything; a user key sees its own escalations and reviews. Leave it empty on a server without tenants (loopback only).
      </p>
      <p class="notice error" role="alert" data-testid="sign-in-error">
        {error ?? ""}
      </p>
      <button type="submit" class="primary" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}
