/**
 * The guard in front of the bundled Chroma server: a proxy that the supervisor runs on the
 * loopback port Mirador gave it, passing a request on to Chroma only when it carries the token of
 * `$MIRADOR_HOME/memory/server.token` (0600) in `x-chroma-token`. Anything else gets 401 and never
 * reaches Chroma.
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
  (id: 'node:net'): typeof import('node:net')
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
 *
 * Every request is checked, and only requests are read: the guard follows each request's head and
 * `content-length` body on its way to Chroma (a head up to 64 KB; a chunked body is refused, Mirador
 * never sends one), while Chroma's answers flow back untouched over one connection of its own per
 * client connection. A request without the right token gets 401 and the connection is closed.
 * Measured: proxying with node:http (parsing and re-writing both ways) added about 1.5 ms to each
 * store query; this adds none that the benchmark can see.
 */
export function startGuard(require: GuardRequire, handle: unknown, o: GuardOptions, ready: () => void): void {
  const net = require('node:net')
  const crypto = require('node:crypto')
  const expected = crypto.createHash('sha256').update(o.token).digest()
  const allowed = (value: string | undefined): boolean =>
    value !== undefined &&
    value !== '' &&
    // equal-length digests: the comparison takes the same time whatever was sent
    crypto.timingSafeEqual(crypto.createHash('sha256').update(value).digest(), expected)
  const answer = (status: string, message: string): string => {
    const body = JSON.stringify({ error: status, message })
    return (
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    )
  }
  const unauthorized = answer(
    '401 Unauthorized',
    "this is Mirador's private memory store: requests need the token only its user can read",
  )
  const server = net.createServer((client) => {
    let up: import('node:net').Socket | undefined
    let pending: Buffer = Buffer.alloc(0)
    let bodyLeft = 0
    const refuse = (reply: string): void => {
      up?.destroy()
      client.removeAllListeners('data')
      client.end(reply)
    }
    const feed = (): void => {
      for (;;) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, pending.length)
          if (n === 0) return
          up!.write(pending.subarray(0, n))
          pending = pending.subarray(n)
          bodyLeft -= n
          continue
        }
        const end = pending.indexOf('\r\n\r\n')
        if (end < 0) {
          if (pending.length > 64 * 1024)
            refuse(answer('431 Request Header Fields Too Large', 'request head too large'))
          return
        }
        const head = pending.subarray(0, end).toString('latin1')
        if (!allowed(/^x-chroma-token:[ \t]*([^\r\n]*?)[ \t]*$/im.exec(head)?.[1])) return refuse(unauthorized)
        if (/^transfer-encoding:/im.test(head)) return refuse(answer('411 Length Required', 'send a content-length'))
        const length = /^content-length:[ \t]*(\d+)[ \t]*$/im.exec(head)?.[1]
        bodyLeft = length ? Number(length) : 0
        client.setTimeout(0)
        if (!up) {
          const u = net.connect(o.upstreamPort, o.upstreamHost)
          // a request goes out in pieces (head, then body): Nagle would hold the last one for an ACK
          u.setNoDelay(true)
          u.on('error', () => client.destroy())
          u.on('close', () => client.destroy())
          u.pipe(client)
          up = u
        }
        up.write(pending.subarray(0, end + 4))
        pending = pending.subarray(end + 4)
      }
    }
    client.setNoDelay(true)
    client.setTimeout(10_000, () => client.destroy())
    client.on('error', () => client.destroy())
    client.on('close', () => up?.destroy())
    client.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      feed()
    })
  })
  server.listen(handle as import('node:net').Server, ready)
}
