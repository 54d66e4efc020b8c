/**
 * Who may call the server. On a loopback bind, only requests whose Host header names the bound
 * address or localhost (a web page that rebinds its DNS name to 127.0.0.1 still sends its own
 * name); beyond loopback, only requests with the bearer token. Browsers only from the configured
 * origins (CORS), and a request from any other origin is refused outright, not just left unread.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendError } from './errors.js'
import { bearerMatches } from './token.js'

export interface GuardOptions {
  host: string
  /** the port listened on (known once listening: `--port 0` picks one) */
  port: () => number
  /** required when the bind is not loopback */
  token?: string
  origins: string[]
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]', host.includes(':') ? `[${host}]` : host])
  return new Set([...names].flatMap((n) => [n, `${n}:${port}`]))
}

export function corsHeaders(origin: string | undefined, origins: string[]): Record<string, string> {
  if (!origin || !origins.includes(origin)) return {}
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type, x-mirador-session, x-mirador-memory',
    vary: 'Origin',
  }
}

export function guard(o: GuardOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  let hosts: Set<string> | undefined
  return async (req, reply) => {
    if (isLoopback(o.host)) hosts ??= allowedHosts(o.host, o.port())
    if (hosts && !hosts.has((req.headers.host ?? '').toLowerCase())) {
      return sendError(reply, 403, `Host "${req.headers.host ?? ''}" is not this server's address`, 'host_not_allowed')
    }
    const origin = req.headers.origin
    if (origin !== undefined && !o.origins.includes(origin)) {
      return sendError(reply, 403, `origin ${origin} is not in serve.origins of the config`, 'origin_not_allowed')
    }
    void reply.headers(corsHeaders(origin, o.origins))
    if (req.method === 'OPTIONS') return void reply.code(204).send()
    if (o.token !== undefined && !bearerMatches(req.headers.authorization, o.token)) {
      return sendError(reply, 401, 'a bearer token is required: see $MIRADOR_HOME/serve/token', 'invalid_api_key')
    }
  }
}
