/**
 * The guard in front of the bundled Chroma server: an HTTP reverse proxy that the supervisor runs
 * on the loopback port Mirador gave it, passing a request on to Chroma only when it carries the
 * token of `$MIRADOR_HOME/memory/server.token` (0600) in `x-chroma-token`. Anything else gets 401
 * and never reaches Chroma.
 *
 * Why: Chroma 1.0.5's Rust server has no authentication of its own (no authn provider, no token
 * in its config), and a loopback port is open to every local user and to any web page the user's
 * browser shows. The token is the credential only the user can read; a page cannot add the header
 * without a CORS preflight that the guard fails too. Chroma itself listens in a private network
 * namespace where the system allows it (start.ts), so the guard is the only way in.
 *
 * `startGuard` runs inside the supervisor from its source text (supervisor.ts): it must use only its
 * parameters and globals.
 */

/** The modules the guard uses, from the supervisor's own `require`. */
export interface GuardRequire {
  (id: 'node:http'): typeof import('node:http')
  (id: 'node:crypto'): typeof import('node:crypto')
}

export interface GuardOptions {
  /** the token, as read from the token file */
  token: string
  /** where Chroma listens (inside the supervisor's network) */
  upstreamHost: string
  upstreamPort: number
}

export const TOKEN_HEADER = 'x-chroma-token'

/**
 * Serves the guard on `handle` (a listening server passed from the parent process); calls `ready`
 * once it accepts connections.
 */
export function startGuard(require: GuardRequire, handle: unknown, o: GuardOptions, ready: () => void): void {
  const http = require('node:http')
  const crypto = require('node:crypto')
  const header = 'x-chroma-token'
  const expected = crypto.createHash('sha256').update(o.token).digest()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  const allowed = (value: string | string[] | undefined): boolean => {
    if (typeof value !== 'string' || value === '') return false
    // equal-length digests: the comparison takes the same time whatever was sent
    return crypto.timingSafeEqual(crypto.createHash('sha256').update(value).digest(), expected)
  }
  const refuse = (res: import('node:http').ServerResponse): void => {
    const body = JSON.stringify({
      error: 'Unauthorized',
      message: "this is Mirador's private memory store: requests need the token only its user can read",
    })
    res.writeHead(401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
  const server = http.createServer((req, res) => {
    if (!allowed(req.headers[header])) {
      req.resume()
      refuse(res)
      return
    }
    const headers = { ...req.headers }
    delete headers[header]
    const up = http.request(
      { host: o.upstreamHost, port: o.upstreamPort, method: req.method, path: req.url, headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers)
        ur.pipe(res)
      },
    )
    up.on('error', (err) => {
      if (!res.headersSent) {
        const body = JSON.stringify({ error: 'Unavailable', message: `Chroma is not answering: ${err.message}` })
        res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        res.end(body)
      } else res.destroy()
    })
    req.pipe(up)
  })
  server.keepAliveTimeout = 5000
  server.listen(handle as import('node:net').Server, ready)
}
