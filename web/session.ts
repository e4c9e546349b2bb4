/**
 * The signed-in session: the JWT from `AuthService/Login`, held in memory only (no localStorage, no cookies: a
 * reload signs out), dropped when its `expiresAt` passes or when the server answers UNAUTHENTICATED.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";

/** A signed-in caller. */
export interface Session {
  readonly identifier: string;
  readonly token: string;
  readonly roles: readonly string[];
  /** When the token expires, epoch milliseconds. */
  readonly expiresAt: number;
}

/** Shown when a session ends on its own (expiry or a refused token). */
export const EXPIRED_MESSAGE = "Your session expired, sign in again";

/** What the page shows about the session. */
export interface SessionState {
  readonly session: Session | undefined;
  /** Why the last session ended, when it did not end by signing out. */
  readonly notice: string | undefined;
}

/** The role that may record and stop. */
export const ADMIN_ROLE = "admin";

/** Whether the session may use Record and Stop (the server decides anyway). */
export function isAdmin(session: Session | undefined): boolean {
  return session?.roles.includes(ADMIN_ROLE) === true;
}

/** setTimeout's longest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** Holds the session and tells subscribers when it changes. */
export class SessionHolder {
  #state: SessionState = { session: undefined, notice: undefined };
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners = new Set<(state: SessionState) => void>();

  /** The current state (the session is already dropped when it has expired). */
  get state(): SessionState {
    this.current();
    return this.#state;
  }

  /** The session while its token is valid; an expired one is dropped here, with the notice. */
  current(): Session | undefined {
    const session = this.#state.session;
    if (session && Date.now() >= session.expiresAt) this.expire(session);
    return this.#state.session;
  }

  signIn(session: Session): void {
    this.#set({ session, notice: undefined });
    this.#schedule(session);
  }

  signOut(): void {
    this.#set({ session: undefined, notice: undefined });
  }

  /** Ends `session` with {@link EXPIRED_MESSAGE}, unless another one has replaced it meanwhile. */
  expire(session: Session): void {
    if (this.#state.session !== session) return;
    this.#set({ session: undefined, notice: EXPIRED_MESSAGE });
  }

  subscribe(listener: (state: SessionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #schedule(session: Session): void {
    const wait = session.expiresAt - Date.now();
    this.#timer = setTimeout(
      () => (Date.now() >= session.expiresAt ? this.expire(session) : this.#schedule(session)),
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
  }

  #set(state: SessionState): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = state;
    for (const listener of this.#listeners) listener(state);
  }
}

/** The holder's state as component state. */
export function useSession(holder: SessionHolder): SessionState {
  const [state, setState] = useState(holder.state);
  useEffect(() => {
    setState(holder.state);
    return holder.subscribe(setState);
  }, [holder]);
  return state;
}
