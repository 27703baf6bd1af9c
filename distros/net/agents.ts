// undici takes the connect timeout and the connections per origin per Agent, not per request,
// so each distinct pair gets its own Agent, kept for the process. `connections` caps the sockets
// to one origin; requests beyond it wait in undici's queue, where no timeout runs until a socket
// takes them, so a queued package download is not failed for waiting its turn. HTTP/2 stays off
// (undici 8 would negotiate it over TLS): one HTTP/2 connection would carry every download to a
// mirror, so `connections` would no longer bound them, and resumes are proven over HTTP/1.1.
import type { Dispatcher } from "undici";
import { Agent, interceptors } from "undici";
import type { HttpSettings } from "./http-settings.ts";

const agents = new Map<string, Dispatcher>();

/** When a request is sent: the shared dispatcher for its connect timeout and per-host limit. */
export function agentFor(settings: HttpSettings): Dispatcher {
  const key = `${settings.connectTimeoutMs}/${settings.connectionsPerHost}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = new Agent({
      connectTimeout: settings.connectTimeoutMs,
      connections: settings.connectionsPerHost,
      allowH2: false,
    }).compose(interceptors.redirect({ maxRedirections: 5 }));
    agents.set(key, agent);
  }
  return agent;
}
