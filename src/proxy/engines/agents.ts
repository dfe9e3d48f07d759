/**
 * Keep-alive agents, one per backend URL, so pooled connections survive a
 * reload for backends that stay and can be dropped for backends that go.
 * `timeout` makes Node honour the backend's Keep-Alive hint (a free socket
 * is closed 1 s before the backend's announced timeout would close it),
 * which avoids most keep-alive races.
 */
import http from 'node:http';
import https from 'node:https';
import { type BackendTrust, backendTlsOptions, DEFAULT_TRUST } from '../../config/backend-tls.js';

/**
 * BackendRoute is what an attempt to one backend needs from the cache: its
 * agent and its URL already parsed (http-proxy-3 parses a string target
 * with `new URL` on every call, and takes a URL object as it is).
 */
export interface BackendRoute {
  readonly agent: http.Agent;
  readonly target: URL;
  /** trustKey: the tls.backend the agent was made with (a change makes a new agent). */
  readonly trustKey: string;
}

/** AgentCache owns the agents of one engine. */
export class AgentCache {
  readonly #routes = new Map<string, BackendRoute>();
  readonly #trust: () => BackendTrust;

  constructor(trust: () => BackendTrust = () => DEFAULT_TRUST) {
    this.#trust = trust;
  }

  /** route returns the agent and parsed URL of a backend, creating them on first use (and anew when tls.backend changed). */
  route(url: string): BackendRoute {
    let r = this.#routes.get(url);
    const trust = url.charCodeAt(4) === 115 /* https: */ ? this.#trust() : DEFAULT_TRUST;
    if (r && r.trustKey !== trust.key) {
      // A reload changed tls.backend: new requests get an agent with the new
      // checks; the old one's idle sockets close, busy ones finish first.
      const old = r.agent;
      if (!this.busy(url)) old.destroy();
      r = undefined;
    }
    if (!r) {
      const opts = {
        keepAlive: true,
        keepAliveMsecs: 1000,
        timeout: 30_000,
        scheduling: 'lifo' as const,
        // No cap on sockets per backend (nginx has none either): a request
        // queued inside the agent would wait with no connect or response
        // timeout armed, since those start when it gets its socket.
        maxFreeSockets: 64,
      };
      // https: verify the certificate against the backend URL's name, exactly as the probes do.
      const agent = url.startsWith('https:') ? new https.Agent({ ...opts, ...backendTlsOptions(url, trust) }) : new http.Agent(opts);
      r = { agent, target: new URL(url), trustKey: trust.key };
      this.#routes.set(url, r);
    }
    return r;
  }

  /**
   * busy tells whether a backend's agent has a socket in use or a request
   * waiting for one: the ground truth for "may it be dropped", since a
   * request of an old generation may hold a socket after its state is gone.
   */
  busy(url: string): boolean {
    const a = this.#routes.get(url)?.agent;
    if (!a) return false;
    const any = (table: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(table).some((list) => (list?.length ?? 0) > 0);
    return any(a.sockets) || any(a.requests);
  }

  /** drop destroys a backend's agent and its pooled sockets (call only when !busy(url)). */
  drop(url: string): void {
    this.#routes.get(url)?.agent.destroy();
    this.#routes.delete(url);
  }

  /** urls lists the backends that have an agent. */
  urls(): string[] {
    return [...this.#routes.keys()];
  }

  /** close destroys every agent. */
  close(): void {
    for (const r of this.#routes.values()) r.agent.destroy();
    this.#routes.clear();
  }
}
