/**
 * The greeter UI: sign in, greet, turn recording on and off (role admin), watch greetings arrive live, search
 * them. The token lives in memory only (see `session.ts`).
 *
 * @module
 */
import { render } from "preact";
import { useCallback, useMemo, useState } from "preact/hooks";
import type { Greeting } from "../src/gen/example/v1/greeter_pb.ts";
import {
  apiClients,
  type AuthClient,
  describeError,
  type GreeterClient,
  isRefusal,
  isUnauthenticated,
} from "./client.ts";
import { type Status, useLiveGreetings, useLiveStatus } from "./live.ts";
import { characterCount, MAX_GREETING_LENGTH } from "../src/example/greeter/length.ts";
import { isAdmin, SessionHolder, type SessionState, useSession } from "./session.ts";

function time(greeting: Greeting): string {
  return new Date(Number(greeting.greetedAt)).toLocaleString();
}

function GreetingItem({ greeting }: { greeting: Greeting }) {
  return (
    <li data-id={greeting.id}>
      <span class="message">{greeting.message}</span>
      <time dateTime={new Date(Number(greeting.greetedAt)).toISOString()}>{time(greeting)}</time>
    </li>
  );
}

function ErrorBox({ error, onDismiss }: { error: string | undefined; onDismiss: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <span>{error}</span>
      <button type="button" class="link" onClick={onDismiss} aria-label="Dismiss the error">×</button>
    </div>
  );
}

function Account(
  { auth, holder, state, onError }: {
    auth: AuthClient;
    holder: SessionHolder;
    state: SessionState;
    onError: (message: string | undefined) => void;
  },
) {
  const [identifier, setIdentifier] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const { session, notice } = state;

  if (session) {
    return (
      <section class="card account" aria-label="Account">
        <p>
          Signed in as <strong data-testid="signed-in-as">{session.identifier}</strong>
          <span class="roles">{session.roles.length > 0 ? session.roles.join(", ") : "no roles"}</span>
        </p>
        <button type="button" class="secondary" onClick={() => holder.signOut()}>Sign out</button>
      </section>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const answer = await auth.login({ identifier, password });
      setPassword("");
      onError(undefined);
      holder.signIn({
        identifier,
        token: answer.token,
        roles: answer.roles,
        expiresAt: Number(answer.expiresAt),
      });
    } catch (error) {
      onError(describeError(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-label="Account">
      {notice && <p class="notice" role="status">{notice}</p>}
      <form class="signin" onSubmit={submit} aria-label="Sign in">
        <label for="identifier">User</label>
        <input
          id="identifier"
          name="username"
          autocomplete="username"
          required
          maxLength={128}
          value={identifier}
          onInput={(e) => setIdentifier(e.currentTarget.value)}
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxLength={1024}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </section>
  );
}

function Recording(
  { client, status, state, onChange, onError }: {
    client: GreeterClient;
    status: Status | undefined;
    state: SessionState;
    onChange: () => void;
    onError: (error: unknown) => void;
  },
) {
  const [busy, setBusy] = useState(false);
  const allowed = isAdmin(state.session);
  const act = async (what: "record" | "stop") => {
    setBusy(true);
    try {
      await (what === "record" ? client.record({}) : client.stop({}));
      onChange();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };
  const recording = status === undefined ? "loading…" : status.recording ? "recording" : "stopped";
  const hint = state.session
    ? `Only role admin may record or stop; ${state.session.identifier} does not have it.`
    : "Sign in as an admin to record or stop.";
  return (
    <section class="card recording" aria-label="Recording">
      <div class="between">
        <p>
          Greeter is <strong class={`state ${recording}`} data-testid="recording-state">{recording}</strong>
          {status !== undefined && (
            <span class="count" data-testid="greeting-count">
              {status.greetingCount.toString()} greetings
            </span>
          )}
        </p>
        <div class="buttons">
          <button
            type="button"
            disabled={!allowed || busy || status?.recording === true}
            onClick={() => act("record")}
          >
            Record
          </button>
          <button
            type="button"
            disabled={!allowed || busy || status?.recording === false}
            onClick={() => act("stop")}
          >
            Stop
          </button>
        </div>
      </div>
      {!allowed && <p class="hint muted" data-testid="recording-hint">{hint}</p>}
    </section>
  );
}

function GreetForm(
  { client, status, onGreeted, onError }: {
    client: GreeterClient;
    status: Status | undefined;
    onGreeted: () => void;
    onError: (error: unknown) => void;
  },
) {
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | undefined>();
  const stopped = status?.recording === false;
  const length = characterCount(message.trim());
  const tooLong = length > MAX_GREETING_LENGTH;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await client.greet({ message });
      setMessage("");
      setRefusal(undefined);
      onGreeted();
    } catch (error) {
      // A refusal of this greeting (stopped, too long) is said next to the form; anything else at the top.
      if (isRefusal(error)) setRefusal(describeError(error));
      else onError(error);
    } finally {
      setBusy(false);
    }
  };
  const note = stopped
    ? "The greeter is stopped: greetings are refused until an admin presses Record."
    : tooLong
    ? `A greeting may have at most ${MAX_GREETING_LENGTH} characters; this one has ${length}.`
    : refusal;
  return (
    <form class="card greet" onSubmit={submit} aria-label="Greet">
      <div class="row">
        <label for="greeting">Greeting</label>
        <input
          id="greeting"
          name="greeting"
          autocomplete="off"
          placeholder="Say hello…"
          required
          aria-describedby="greet-note"
          value={message}
          onInput={(e) => {
            setMessage(e.currentTarget.value);
            setRefusal(undefined);
          }}
        />
        <button type="submit" disabled={busy || stopped || tooLong}>{busy ? "Greeting…" : "Greet"}</button>
      </div>
      <p id="greet-note" class={`greet-note${note ? " refused" : ""}`} data-testid="greet-note">
        {/* Why the form refuses is announced; the character count is not, at every keystroke. */}
        {note ? <span role="status">{note}</span> : `${length} / ${MAX_GREETING_LENGTH} characters`}
      </p>
    </form>
  );
}

function Search({ client, onError }: { client: GreeterClient; onError: (error: unknown) => void }) {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<readonly Greeting[] | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const found: Greeting[] = [];
      for await (const greeting of client.search({ query, limit: 50 })) found.push(greeting);
      setResults(found);
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-label="Search">
      <form class="row" role="search" onSubmit={submit}>
        <label for="search">Search</label>
        <input
          id="search"
          type="search"
          name="search"
          placeholder="Words in greetings"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>{busy ? "Searching…" : "Search"}</button>
      </form>
      {results !== undefined && (
        <div aria-live="polite">
          <p class="muted">{results.length === 0 ? "No greetings found." : `${results.length} found`}</p>
          <ul class="greetings" data-testid="search-results">
            {results.map((greeting) => <GreetingItem key={greeting.id} greeting={greeting} />)}
          </ul>
        </div>
      )}
    </section>
  );
}

function App() {
  const holder = useMemo(() => new SessionHolder(), []);
  const { greeter: client, auth } = useMemo(() => apiClients(holder), [holder]);
  const session = useSession(holder);
  const [error, setError] = useState<string | undefined>();
  const live = useLiveGreetings(client);
  const status = useLiveStatus(client);

  const showError = useCallback((e: unknown) => {
    // A refused token ends the session; the account card says so.
    if (isUnauthenticated(e) && holder.state.notice !== undefined) return;
    setError(describeError(e));
  }, [holder]);
  // The status and the list follow their streams: an action only clears an earlier error.
  const succeeded = () => setError(undefined);

  return (
    <main>
      <header>
        <h1>Greeter</h1>
        <p class="muted">Commands, events and live queries with dendrite</p>
      </header>
      <Account auth={auth} holder={holder} state={session} onError={setError} />
      <ErrorBox error={error} onDismiss={() => setError(undefined)} />
      <Recording client={client} status={status} state={session} onChange={succeeded} onError={showError} />
      <GreetForm client={client} status={status} onGreeted={succeeded} onError={showError} />
      <section class="card" aria-label="Greetings">
        <h2>
          Greetings <span class={`stream-state ${live.state}`} data-testid="live-state">{live.state}</span>
        </h2>
        {live.greetings.length === 0
          ? <p class="muted">{live.state === "connecting" ? "Loading…" : "No greetings yet."}</p>
          : (
            <ul class="greetings" data-testid="greetings">
              {live.greetings.map((greeting) => <GreetingItem key={greeting.id} greeting={greeting} />)}
            </ul>
          )}
      </section>
      <Search client={client} onError={showError} />
    </main>
  );
}

const root = document.getElementById("app")!;
root.replaceChildren();
render(<App />, root);
