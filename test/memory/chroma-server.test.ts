/**
 * The shared local Chroma server, against the real bundled `chroma run` (no mocks): start, record,
 * reuse, stale records, concurrent starts, stop, idle stop, CHROMA_URL, privacy of its process.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import {
  chromaServerInfo,
  ensureChromaServer,
  heartbeat,
  stopChromaServer,
  touchChromaServer,
  type ChromaServerStatus,
} from '../../src/plugins/memory/chroma/server.js'
import {
  ensureInChild,
  isAlive,
  listeners,
  plainChromaServer,
  processesMentioning,
  readServerRecord,
  tempHome,
  waitFor,
} from '../support/chroma-helpers.js'

jest.setTimeout(30_000)

const homes: string[] = []
async function newHome(tag: string): Promise<string> {
  const h = await tempHome(tag)
  homes.push(h)
  return h
}

afterAll(async () => {
  for (const h of homes) await stopChromaServer(h)
  const left = homes.flatMap((h) => processesMentioning(h))
  for (const h of homes) await rm(h, { recursive: true, force: true })
  expect(left).toEqual([])
}, 60_000)

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

describe('the bundled Chroma server', () => {
  let home: string
  beforeAll(async () => {
    home = await newHome('server')
  })

  test('starts on loopback, records itself, answers the heartbeat', async () => {
    const states: ChromaServerStatus['state'][] = []
    const saved = { ...process.env }
    // switches a server could read to send traces somewhere: the server must not see them
    process.env.CHROMA_OPEN_TELEMETRY__ENDPOINT = 'http://127.0.0.1:9/'
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9/'
    let h
    const t0 = performance.now()
    try {
      h = await ensureChromaServer({ home, env: {}, onProgress: (s) => states.push(s.state) })
    } finally {
      delete process.env.CHROMA_OPEN_TELEMETRY__ENDPOINT
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT
      Object.assign(process.env, saved)
    }
    const ms = performance.now() - t0
    process.stderr.write(`chroma: start to heartbeat ${ms.toFixed(0)} ms\n`)

    expect(h.started).toBe(true)
    expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(states[0]).toBe('checking')
    expect(states).toContain('starting')
    expect(states.at(-1)).toBe('ready')
    expect((await heartbeat(h.url, 2000, h.token)).ok).toBe(true)

    const rec = (await readServerRecord(home))!
    expect(rec).toMatchObject({
      pid: h.pid,
      port: h.port,
      url: h.url,
      host: '127.0.0.1',
      dataDir: path.join(home, 'memory', 'chroma'),
    })
    expect(isAlive(rec.pid) && isAlive(rec.chromaPid)).toBe(true)
    expect(statSync(path.join(home, 'memory', 'server.json')).mode & 0o077).toBe(0)
    expect(statSync(path.join(home, 'memory')).mode & 0o077).toBe(0)
    expect(existsSync(path.join(home, 'memory', 'server.lock'))).toBe(false)

    // the guard listens on 127.0.0.1 only (0100007F in /proc/net/tcp)
    expect(listeners(rec.port)).toEqual(['0100007F'])
    // its environment carries no telemetry/tracing switches nor the token, its log says tracing is off
    const environ = readFileSync(`/proc/${rec.chromaPid}/environ`, 'utf8').split('\0')
    expect(environ.filter((e) => /^(CHROMA_|OTEL_|NODE_OPTIONS=|MIRADOR_CHROMA_SUPERVISOR_JS=)/.test(e))).toEqual([])
    expect(environ.join('\n')).not.toContain(h.token)
    const cmd = readFileSync(`/proc/${rec.chromaPid}/cmdline`, 'utf8').split('\0')
    expect(cmd).toEqual(
      expect.arrayContaining(['run', '--path', rec.dataDir, '--host', '127.0.0.1', '--port', String(rec.chromaPort)]),
    )
    for (const pid of [rec.pid, rec.chromaPid])
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(h.token)
    expect(await waitFor(() => readFileSync(rec.log, 'utf8').includes('OpenTelemetry is not enabled'), 3000)).toBe(true)
  })

  test('a second call reuses it (same pid and port) and marks the use', async () => {
    const before = (await readServerRecord(home))!
    await new Promise((r) => setTimeout(r, 20))
    const stampBefore = statSync(path.join(home, 'memory', 'last-used')).mtimeMs
    const t0 = performance.now()
    const h = await ensureChromaServer({ home, env: {} })
    process.stderr.write(`chroma: reuse ${(performance.now() - t0).toFixed(0)} ms\n`)
    expect(h).toMatchObject({ started: false, pid: before.pid, port: before.port, url: before.url })
    expect(statSync(path.join(home, 'memory', 'last-used')).mtimeMs).toBeGreaterThan(stampBefore)
    const info = await chromaServerInfo(home)
    expect(info.running).toBe(true)
    expect(info.record?.pid).toBe(before.pid)
  })

  test('Chroma killed with SIGKILL: the record is stale and a new server replaces it', async () => {
    const old = (await readServerRecord(home))!
    process.kill(old.chromaPid, 'SIGKILL')
    const h = await ensureChromaServer({ home, env: {} })
    expect(h.started).toBe(true)
    expect(h.pid).not.toBe(old.pid)
    const rec = (await readServerRecord(home))!
    expect(rec.chromaPid).not.toBe(old.chromaPid)
    expect(await waitFor(() => !isAlive(old.pid) && !isAlive(old.chromaPid), 5000)).toBe(true)
    expect((await heartbeat(h.url, 2000, h.token)).ok).toBe(true)
  })

  test('the supervisor killed with SIGKILL: its orphaned Chroma is stopped and a new server started', async () => {
    const old = (await readServerRecord(home))!
    process.kill(old.pid, 'SIGKILL')
    expect(await waitFor(() => !isAlive(old.pid), 3000)).toBe(true)
    expect(isAlive(old.chromaPid)).toBe(true) // still answering, but nobody would ever idle-stop it
    const h = await ensureChromaServer({ home, env: {} })
    expect(h.started).toBe(true)
    expect(await waitFor(() => !isAlive(old.chromaPid), 5000)).toBe(true)
    expect(processesMentioning(path.join(home, 'memory', 'chroma'))).toHaveLength(2)
  })

  test('a record naming pids that are not ours is stale (and those processes are left alone)', async () => {
    const real = (await readServerRecord(home))!
    // this jest worker: alive, but not a Chroma supervisor; the URL still answers
    await writeFile(
      path.join(home, 'memory', 'server.json'),
      JSON.stringify({ ...real, pid: process.pid, chromaPid: process.pid }),
    )
    const h = await ensureChromaServer({ home, env: {} })
    expect(h.started).toBe(true)
    expect(h.pid).not.toBe(process.pid)
    // the unrecorded server on the same data was stopped: one supervisor and one Chroma remain
    expect(await waitFor(() => !isAlive(real.pid) && !isAlive(real.chromaPid), 5000)).toBe(true)
    expect(processesMentioning(path.join(home, 'memory', 'chroma'))).toHaveLength(2)
  })

  test('a damaged record and a stale lock of a dead process are replaced', async () => {
    await stopChromaServer(home)
    await writeFile(path.join(home, 'memory', 'server.json'), '{"pid": 12')
    await writeFile(
      path.join(home, 'memory', 'server.lock'),
      JSON.stringify({ pid: 2 ** 22 + 12345, nonce: 'x', at: Date.now() }),
    )
    const h = await ensureChromaServer({ home, env: {} })
    expect(h.started).toBe(true)
    expect(existsSync(path.join(home, 'memory', 'server.lock'))).toBe(false)
  })

  test('two processes starting at once start one server', async () => {
    await stopChromaServer(home)
    const at = Date.now() + 2500 // both children are loaded by then
    const [a, b] = await Promise.all([ensureInChild(home, at), ensureInChild(home, at)])
    expect(a.url).toBe(b.url)
    expect(a.pid).toBe(b.pid)
    expect([a.started, b.started].sort()).toEqual([false, true])
    expect(processesMentioning(path.join(home, 'memory', 'chroma'))).toHaveLength(2)
    expect((await readServerRecord(home))?.pid).toBe(a.pid)
  }, 40_000)

  test('stop: the processes end, the record goes, the data stays', async () => {
    const rec = (await readServerRecord(home))!
    const t0 = performance.now()
    expect(await stopChromaServer(home)).toBe(true)
    process.stderr.write(`chroma: stop ${(performance.now() - t0).toFixed(0)} ms\n`)
    expect(isAlive(rec.pid) || isAlive(rec.chromaPid)).toBe(false)
    expect(await readServerRecord(home)).toBeUndefined()
    expect(existsSync(path.join(rec.dataDir, 'chroma.sqlite3'))).toBe(true)
    expect(processesMentioning(home)).toEqual([])
    expect(await stopChromaServer(home)).toBe(false)
    expect((await chromaServerInfo(home)).running).toBe(false)
    // the supervisor stopped Chroma and exited cleanly
    expect(readFileSync(rec.log, 'utf8')).toMatch(
      new RegExp(`supervisor ${rec.pid} .*stopping chroma: SIGTERM[\\s\\S]*supervisor ${rec.pid} .*exiting`),
    )
  })
})

/** Is `port` listening in the network of process `pid` (its /proc/PID/net/tcp)? */
function listensIn(pid: number, port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync(`/proc/${pid}/net/tcp`, 'utf8')
    .split('\n')
    .some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex) && l.trim().split(/\s+/)[3] === '0A')
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** Sends requests one after another on one connection; the replies (each read to its content-length). */
function twoRequests(port: number, requests: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const replies: string[] = []
    let buf = ''
    const s = net.connect(port, '127.0.0.1', () => s.write(requests[0]!))
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1')
      const end = buf.indexOf('\r\n\r\n')
      const length = Number(/content-length: *(\d+)/i.exec(buf)?.[1] ?? 0)
      if (end < 0 || buf.length < end + 4 + length) return
      replies.push(buf)
      buf = ''
      if (replies.length < requests.length) s.write(requests[replies.length]!)
      else s.end()
    })
    s.on('close', () => resolve(replies))
    s.on('error', reject)
  })
}

describe('only Mirador talks to the store', () => {
  test('a request without the token is refused; Chroma itself listens in a network of its own', async () => {
    const home = await newHome('guard')
    const h = await ensureChromaServer({ home, env: {} })
    const rec = (await readServerRecord(home))!
    const tokenFile = path.join(home, 'memory', 'server.token')
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(h.token)

    // the guard: no token, a wrong one, or the right one
    const none = await fetch(`${h.url}/api/v2/collections`)
    expect(none.status).toBe(401)
    expect((await heartbeat(h.url, 2000)).ok).toBe(false)
    expect((await heartbeat(h.url, 2000, 'f'.repeat(64))).ok).toBe(false)
    expect((await heartbeat(h.url, 2000, h.token)).ok).toBe(true)
    const list = `${h.url}/api/v2/tenants/default_tenant/databases/default_database/collections`
    const post = await fetch(list, { method: 'POST', body: '{"name":"intruder"}' })
    expect(post.status).toBe(401)
    const ok = await fetch(list, { headers: { 'x-chroma-token': h.token! } })
    expect(ok.status).toBe(200)
    expect(JSON.stringify(await ok.json())).not.toContain('intruder')

    // on one connection, every request is checked: the second, without the token, is refused
    const replies = await twoRequests(rec.port, [
      `GET /api/v2/heartbeat HTTP/1.1\r\nhost: x\r\nx-chroma-token: ${h.token}\r\n\r\n`,
      'GET /api/v2/collections HTTP/1.1\r\nhost: x\r\n\r\n',
    ])
    expect(replies[0]).toMatch(/^HTTP\/1\.1 200/)
    expect(replies[1]).toMatch(/^HTTP\/1\.1 401/)

    // Chroma's own port: listening, but only inside its network; nothing answers it from here
    const { isolation } = await import('../../src/plugins/memory/chroma/isolation.js')
    const how = await isolation(process.env)
    process.stderr.write(`chroma: isolation on this machine: ${how.ok ? 'yes' : how.reason}\n`)
    expect(rec.isolated).toBe(how.ok)
    expect(h.isolated).toBe(how.ok)
    expect(rec.chromaPort).not.toBe(rec.port)
    expect(listensIn(rec.chromaPid, rec.chromaPort!)).toBe(true)
    if (how.ok) {
      expect(listensIn(process.pid, rec.chromaPort!)).toBe(false)
      expect(await connects(rec.chromaPort!)).toBe(false)
    }
    await stopChromaServer(home)
  })

  test('MIRADOR_CHROMA_ISOLATE=off: Chroma on the machine loopback (reported); the guard still refuses', async () => {
    const home = await newHome('guard-plain')
    const h = await ensureChromaServer({ home, env: { MIRADOR_CHROMA_ISOLATE: 'off' } })
    const rec = (await readServerRecord(home))!
    expect(h.isolated).toBe(false)
    expect(rec.isolated).toBe(false)
    expect((await heartbeat(h.url, 2000)).ok).toBe(false)
    // what isolation prevents: Chroma's own port answers anyone
    expect((await heartbeat(`http://127.0.0.1:${rec.chromaPort}`, 2000)).ok).toBe(true)
    expect(readFileSync(rec.log, 'utf8')).toMatch(/NOT isolated/)
    await stopChromaServer(home)
  })
})

describe('CHROMA_URL', () => {
  test('a reachable server is used as is; nothing is started', async () => {
    const target = await plainChromaServer(path.join(await newHome('url-target'), 'data'))
    try {
      const other = await newHome('url-user')
      const h = await ensureChromaServer({ home: other, env: { CHROMA_URL: `${target.url}/` } })
      expect(h).toEqual({ url: target.url, started: false })
      expect(existsSync(path.join(other, 'memory'))).toBe(false)
    } finally {
      await target.stop()
    }
  })

  test('an unreachable one is MEMORY_UNAVAILABLE naming the URL and what to do', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`
    const err = await ensureChromaServer({ home: await newHome('url-bad'), env: { CHROMA_URL: url } }).catch(
      (e: unknown) => e,
    )
    expect(MiradorError.is(err, 'MEMORY_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain(url)
    expect((err as Error).message).toMatch(/unset CHROMA_URL/)
    const bad = await ensureChromaServer({ home: await newHome('url-bad2'), env: { CHROMA_URL: 'ftp://x' } }).catch(
      (e: unknown) => e,
    )
    expect(MiradorError.is(bad, 'MEMORY_UNAVAILABLE')).toBe(true)
  })
})

describe('start failure', () => {
  test('a server that cannot start is MEMORY_UNAVAILABLE with the last lines of its log', async () => {
    const home = await newHome('broken')
    // a folder where Chroma's SQLite file should be: Chroma panics at start
    const { mkdir } = await import('node:fs/promises')
    await mkdir(path.join(home, 'memory', 'chroma', 'chroma.sqlite3'), { recursive: true })
    const err = await ensureChromaServer({ home, env: {} }).catch((e: unknown) => e)
    expect(MiradorError.is(err, 'MEMORY_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toMatch(/did not start/)
    expect((err as Error).message).toMatch(/unable to open database file/)
    expect(await readServerRecord(home)).toBeUndefined()
    expect(processesMentioning(home)).toEqual([])
  })
})

describe('idle stop', () => {
  test('the server stops itself once unused for the idle period, after its starting process exited', async () => {
    const home = await newHome('idle')
    const h = await ensureInChild(home, 0, { MIRADOR_CHROMA_IDLE_MS: '1500' })
    expect(h.started).toBe(true)
    const rec = (await readServerRecord(home))!
    expect(rec.idleMs).toBe(1500)
    // in use: touched more often than the idle period, it keeps running
    const until = Date.now() + 3000
    while (Date.now() < until) {
      await touchChromaServer(home, { force: true })
      await new Promise((r) => setTimeout(r, 250))
    }
    expect((await heartbeat(h.url, 1000, h.token)).ok).toBe(true)
    // unused: it stops within the idle period plus a poll or two
    const t0 = Date.now()
    expect(await waitFor(() => !isAlive(rec.pid) && !isAlive(rec.chromaPid), 6000)).toBe(true)
    process.stderr.write(`chroma: idle stop ${Date.now() - t0} ms after the last use (idle 1500 ms)\n`)
    expect(await readServerRecord(home)).toBeUndefined()
    expect(existsSync(path.join(home, 'memory', 'server.lock'))).toBe(false)
    expect(readFileSync(rec.log, 'utf8')).toMatch(/stopping chroma: idle/)
    // and the next use starts it again
    const again = await ensureChromaServer({ home, env: {}, idleMs: 1500 })
    expect(again.started).toBe(true)
    await stopChromaServer(home)
  })

  test('MIRADOR_CHROMA_IDLE_MS sets the period; a bad value is refused', async () => {
    const home = await newHome('idle-env')
    await ensureChromaServer({ home, env: { MIRADOR_CHROMA_IDLE_MS: '0' } })
    expect((await readServerRecord(home))?.idleMs).toBe(0)
    await stopChromaServer(home)
    const err = await ensureChromaServer({ home, env: { MIRADOR_CHROMA_IDLE_MS: 'soon' } }).catch((e: unknown) => e)
    expect(MiradorError.is(err, 'MEMORY_UNAVAILABLE')).toBe(true)
  })
})
