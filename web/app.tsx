/**
 * The greeter UI: greet, turn recording on and off, watch greetings arrive live, search them.
 *
 * @module
 */
import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { Greeting } from "../src/gen/example/v1/greeter_pb.ts";
import { describeError, type GreeterClient, greeterClient } from "./client.ts";
import { useLiveGreetings } from "./live.ts";

type Status = { readonly recording: boolean; readonly greetingCount: bigint };

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

function Recording(
  { client, status, onChange, onError }: {
    client: GreeterClient;
    status: Status | undefined;
    onChange: () => Promise<void>;
    onError: (error: unknown) => void;
  },
) {
  const [busy, setBusy] = useState(false);
  const act = async (what: "record" | "stop") => {
    setBusy(true);
    try {
      await (what === "record" ? client.record({}) : client.stop({}));
      await onChange();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };
  const state = status === undefined ? "loading…" : status.recording ? "recording" : "stopped";
  return (
    <section class="card recording" aria-label="Recording">
      <p>
        Greeter is <strong class={`state ${state}`} data-testid="recording-state">{state}</strong>
        {status !== undefined && <span class="count">{status.greetingCount.toString()} greetings</span>}
      </p>
      <div class="buttons">
        <button type="button" disabled={busy || status?.recording === true} onClick={() => act("record")}>
          Record
        </button>
        <button type="button" disabled={busy || status?.recording === false} onClick={() => act("stop")}>
          Stop
        </button>
      </div>
    </section>
  );
}

function GreetForm(
  { client, onGreeted, onError }: {
    client: GreeterClient;
    onGreeted: () => Promise<void>;
    onError: (error: unknown) => void;
  },
) {
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await client.greet({ message });
      setMessage("");
      await onGreeted();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card row" onSubmit={submit} aria-label="Greet">
      <label for="greeting">Greeting</label>
      <input
        id="greeting"
        name="greeting"
        autocomplete="off"
        placeholder="Say hello…"
        maxLength={1000}
        required
        value={message}
        onInput={(e) => setMessage(e.currentTarget.value)}
      />
      <button type="submit" disabled={busy}>{busy ? "Greeting…" : "Greet"}</button>
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
  const client = useMemo(() => greeterClient(), []);
  const [status, setStatus] = useState<Status | undefined>();
  const [error, setError] = useState<string | undefined>();
  const live = useLiveGreetings(client);

  const showError = useCallback((e: unknown) => setError(describeError(e)), []);
  const refreshStatus = useCallback(async () => {
    try {
      const answer = await client.getStatus({});
      setStatus({ recording: answer.recording, greetingCount: answer.greetingCount });
    } catch (e) {
      showError(e);
    }
  }, [client]);
  useEffect(() => void refreshStatus(), [refreshStatus]);

  const succeeded = async () => {
    setError(undefined);
    await refreshStatus();
  };

  return (
    <main>
      <header>
        <h1>Greeter</h1>
        <p class="muted">Commands, events and live queries with dendrite</p>
      </header>
      <ErrorBox error={error} onDismiss={() => setError(undefined)} />
      <Recording client={client} status={status} onChange={succeeded} onError={showError} />
      <GreetForm client={client} onGreeted={succeeded} onError={showError} />
      <section class="card" aria-label="Greetings">
        <h2>
          Greetings <span class={`live ${live.state}`} data-testid="live-state">{live.state}</span>
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
