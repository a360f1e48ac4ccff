import { useEffect, useMemo, useState } from "preact/hooks";
import { apiWithKey } from "./api.js";
import { Controls } from "./pages/controls.js";
import { Drift } from "./pages/drift.js";
import { Escalations } from "./pages/escalations.js";
import { Models } from "./pages/models.js";
import { ReviewQueue } from "./pages/review-queue.js";
import { SignIn } from "./pages/sign-in.js";
import type { Me, ModelInfo } from "./types.js";
import { usePoll } from "./use-poll.js";

const KEY_STORAGE = "specialist-console-key";
const PAGES = [
  { path: "reviews", title: "Review queue", admin: false },
  { path: "escalations", title: "Escalations", admin: false },
  { path: "controls", title: "Controls", admin: true },
  { path: "models", title: "Models", admin: true },
  { path: "drift", title: "Drift", admin: true },
] as const;
type PagePath = (typeof PAGES)[number]["path"];

const pageOfHash = (): PagePath => (PAGES.find((p) => `#/${p.path}` === location.hash)?.path ?? "reviews");

/** The console shell: sign-in, navigation by URL hash, and the page for the signed-in tenant's role. */
export function App() {
  const [session, setSession] = useState<{ key: string; me: Me } | null>(null);
  const [checking, setChecking] = useState(true);
  const [page, setPage] = useState<PagePath>(pageOfHash());

  useEffect(() => {
    const onHash = () => setPage(pageOfHash());
    window.addEventListener("hashchange", onHash);
    // The key lives in this tab's session storage: a reload keeps the session, closing the tab ends it.
    const saved = sessionStorage.getItem(KEY_STORAGE);
    if (saved === null) setChecking(false);
    else
      apiWithKey(saved)<Me>("/v1/me")
        .then((me) => setSession({ key: saved, me }))
        .catch(() => sessionStorage.removeItem(KEY_STORAGE))
        .finally(() => setChecking(false));
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  if (checking) return <p>Loading…</p>;
  if (!session)
    return (
      <Shell>
        <SignIn
          onSignedIn={(key, me) => {
            sessionStorage.setItem(KEY_STORAGE, key);
            setSession({ key, me });
          }}
        />
      </Shell>
    );
  return <SignedIn session={session} page={page} onSignOut={() => (sessionStorage.removeItem(KEY_STORAGE), setSession(null))} />;
}

function SignedIn({ session, page, onSignOut }: { session: { key: string; me: Me }; page: PagePath; onSignOut: () => void }) {
  const { me } = session;
  const api = useMemo(() => apiWithKey(session.key), [session.key]);
  const models = usePoll(async () => (await api<{ data: ModelInfo[] }>("/v1/models")).data, 10_000, [api]);
  const spec = PAGES.find((p) => p.path === page)!;
  const refused = spec.admin && me.role !== "admin";
  return (
    <Shell
      nav={
        <nav aria-label="Console pages">
          {PAGES.filter((p) => !p.admin || me.role === "admin").map((p) => (
            <a href={`#/${p.path}`} aria-current={p.path === page ? "page" : undefined}>
              {p.title}
            </a>
          ))}
          <span class="who" data-testid="who">
            {me.id} ({me.role})
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </nav>
      }
    >
      {refused ? (
        <p class="notice error" role="alert" data-testid="refused">
          {spec.title} needs an admin key: tenant '{me.id}' has the user role.
        </p>
      ) : page === "reviews" ? (
        <ReviewQueue api={api} me={me} models={models.data ?? []} />
      ) : page === "escalations" ? (
        <Escalations api={api} me={me} />
      ) : page === "controls" ? (
        <Controls api={api} />
      ) : page === "models" ? (
        <Models api={api} onChanged={() => void models.reload()} />
      ) : (
        <Drift api={api} models={models.data ?? []} />
      )}
    </Shell>
  );
}

function Shell({ nav, children }: { nav?: preact.ComponentChildren; children: preact.ComponentChildren }) {
  return (
    <>
      <header class="top">
        <h1>specialist-serve console</h1>
        {nav}
      </header>
      <main>{children}</main>
    </>
  );
}
