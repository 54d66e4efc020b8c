/**
 * A Hugging Face hub double on loopback, speaking what `mirador models pull` uses of the hub:
 * `GET`/`HEAD /{owner}/{repo}/resolve/{revision}/{file}` with Content-Length, ETag,
 * Accept-Ranges and `Range: bytes=N-` (206 with Content-Range; 416 past the end), optionally
 * answered with a 302 to a second path, as the hub sends downloads to its CDN. It can cut the
 * connection after some bytes of the body (the first N requests), stall after some bytes, ignore
 * ranges (answer 200), and records every request with its Range header.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HfFile {
  repo: string
  revision: string
  file: string
  /** the file's content on disk */
  path: string
}

export interface HfServerOptions {
  files: HfFile[]
  /** answer `resolve` with a 302 to /cdn/… (default false) */
  redirect?: boolean
  /** cut the connection after this many bytes of a body… */
  cutAfter?: number
  /** …in the first this many body requests (default: every one) */
  cutRequests?: number
  /** answer every GET with 200 and the whole file, whatever Range says */
  ignoreRange?: boolean
  /** send this many bytes of a body, then nothing more (the connection stays open) */
  stallAfter?: number
}

export interface HfRequest {
  method: string
  path: string
  range?: string
  status: number
}

export interface HfTestServer {
  url: string
  requests: HfRequest[]
  close(): Promise<void>
}

export async function startHfServer(opts: HfServerOptions): Promise<HfTestServer> {
  const files = new Map<string, { data: Buffer; etag: string }>()
  for (const f of opts.files) {
    const data = readFileSync(f.path)
    const etag = `"${createHash('sha256').update(data).digest('hex')}"`
    files.set(`${f.repo}/resolve/${f.revision}/${f.file}`, { data, etag })
  }
  const requests: HfRequest[] = []
  let cuts = 0
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!)
    const record: HfRequest = {
      method: req.method ?? '',
      path: url,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      status: 0,
    }
    requests.push(record)
    const send = (status: number, headers: Record<string, string | number> = {}) => {
      record.status = status
      res.writeHead(status, headers)
    }
    const key = url.replace(/^\/(cdn\/)?/, '')
    const f = files.get(key)
    if (!f || (req.method !== 'GET' && req.method !== 'HEAD')) {
      send(404, { 'Content-Type': 'text/plain', 'X-Error-Code': 'EntryNotFound' })
      res.end('Entry not found')
      return
    }
    if (opts.redirect && !url.startsWith('/cdn/')) {
      send(302, { Location: `/cdn/${key}`, ETag: f.etag })
      res.end()
      return
    }
    const size = f.data.length
    const m = !opts.ignoreRange && req.headers.range ? /^bytes=(\d+)-$/.exec(req.headers.range) : null
    const start = m ? Number(m[1]) : 0
    if (m && start >= size) {
      send(416, { 'Content-Range': `bytes */${size}` })
      res.end()
      return
    }
    const body = f.data.subarray(start)
    send(m ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': body.length,
      'Accept-Ranges': 'bytes',
      ETag: f.etag,
      ...(m ? { 'Content-Range': `bytes ${start}-${size - 1}/${size}` } : {}),
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    if (opts.stallAfter !== undefined && body.length > opts.stallAfter) {
      res.write(body.subarray(0, opts.stallAfter))
      return
    }
    const cut = opts.cutAfter !== undefined && cuts < (opts.cutRequests ?? Infinity) && body.length > opts.cutAfter
    if (!cut) {
      res.end(body)
      return
    }
    cuts++
    // the bytes before the cut reach the client, then the socket dies without ending the body
    res.write(body.subarray(0, opts.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
