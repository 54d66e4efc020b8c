/**
 * The Chroma server Mirador's memory talks to.
 *
 * - `CHROMA_URL` set: that server, checked with a heartbeat. Nothing is started.
 * - Otherwise the server bundled with the `chromadb` package (`chroma run`, Rust), data in
 *   `$MIRADOR_HOME/memory/chroma`, listening on 127.0.0.1 only, on a free port. It runs detached,
 *   shared by every later Mirador run, under a small supervisor process (supervisor.ts) that stops
 *   it after `idleMs` without use (default 15 min; `MIRADOR_CHROMA_IDLE_MS`, 0 = never).
 *
 * Files under `$MIRADOR_HOME/memory/` (folder 0700, files 0600):
 *
 *   chroma/       the data (survives stops, crashes and SIGKILL)
 *   server.json   {pid (supervisor), chromaPid, port, url, startedAt, …}, written atomically
 *   server.lock   held (O_EXCL, lock.ts) while a process checks, starts or stops the server
 *   last-used     its mtime is the last Mirador use (touchChromaServer); the idle clock
 *   chroma.log    the supervisor's and Chroma's stdout/stderr (rotated at 2 MB)
 *
 * A record is reused when the supervisor pid and the Chroma pid are alive, their command lines are
 * ours (role marker / chromadb cli + this data folder, read from /proc, or `ps` elsewhere), and the
 * heartbeat answers. Anything else is stale: what is left of it is stopped and a new server started.
 *
 * Privacy: nothing leaves the machine. Checked for chromadb 3.5.0 + chromadb-js-bindings 1.0.5:
 *  - product telemetry: the Rust server has none. ANONYMIZED_TELEMETRY / PostHog belong to the old
 *    Python server; the bindings binary contains no PostHog client or endpoint.
 *  - OpenTelemetry: exported only if the config has an `open_telemetry` section. `chroma run
 *    --path` uses the built-in single-node config, which has none (the log says "OpenTelemetry is
 *    not enabled because it is missing from the config"). Only a config-file run (`chroma run
 *    FILE`) merges CHROMA_* variables into its config (`__` → `.`), where
 *    CHROMA_OPEN_TELEMETRY__ENDPOINT would turn tracing on; tested: with `--path`, setting it and
 *    OTEL_EXPORTER_OTLP_ENDPOINT leaves tracing off. Mirador never uses a config file, and as
 *    defence in depth strips CHROMA_*, OTEL_*, ANONYMIZED_TELEMETRY and NODE_OPTIONS from the
 *    server's environment (serverEnv). The binary holds the one URL api.trychroma.com, for the
 *    Chroma Cloud commands (login, db, copy), which Mirador never runs.
 *  - the JS wrapper (`dist/cli.mjs`) contacts registry.npmjs.org only for `chroma update`.
 *  - listening: `--host 127.0.0.1` (the CLI's default would be `localhost`).
 *  - measured: under `strace -f -e trace=connect,sendto,sendmsg,bind` a start, 50 adds, a query,
 *    8 s idle and a stop made no connect() other than Mirador's own to 127.0.0.1:<port>, and no DNS.
 * The chromadb JS client contacts only the URL it is given (see store.ts for its embedding function).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import { mkdir, readFile, rename, rm, stat, utimes, writeFile, open as openFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'
import { writeFileAtomic } from '../../../engine/atomic-write.js'
import { MiradorError } from '../../../engine/errors.js'
import { releaseLock, tryLock } from './lock.js'
import { SUPERVISOR_BOOTSTRAP, SUPERVISOR_ENV, SUPERVISOR_ROLE, supervisorScript, type SupervisorArgs } from './supervisor.js'

export const DEFAULT_IDLE_MS = 15 * 60_000
export const IDLE_ENV = 'MIRADOR_CHROMA_IDLE_MS'
export const CHROMA_URL_ENV = 'CHROMA_URL'
const HOST = '127.0.0.1'
const DEFAULT_START_TIMEOUT_MS = 15_000
const LOCK_STALE_MS = 60_000
const KILL_AFTER_MS = 10_000
const LOG_ROTATE_BYTES = 2 * 1024 * 1024
const TOUCH_THROTTLE_MS = 1000

export type ChromaServerState = 'checking' | 'waiting' | 'starting' | 'ready'

export interface ChromaServerStatus {
  state: ChromaServerState
  /** one line for a spinner */
  message: string
  url?: string
}

export interface EnsureChromaServerOptions {
  /** $MIRADOR_HOME */
  home: string
  /** where CHROMA_URL and MIRADOR_CHROMA_IDLE_MS are read (defaults to process.env) */
  env?: NodeJS.ProcessEnv
  onProgress?: (status: ChromaServerStatus) => void
  /** idle period before a server started now stops itself; overrides MIRADOR_CHROMA_IDLE_MS; 0 = never */
  idleMs?: number
  /** how long to wait for a new server's heartbeat (default 15 s) */
  startTimeoutMs?: number
}

export interface ChromaServerHandle {
  url: string
  /** true when this call started the server */
  started: boolean
  /** the supervisor's pid (bundled server only) */
  pid?: number
  port?: number
}

export interface ChromaServerRecord {
  version: 1
  /** the supervisor */
  pid: number
  chromaPid: number
  host: string
  port: number
  url: string
  /** ms since the epoch */
  startedAt: number
  dataDir: string
  idleMs: number
  log: string
}

export interface ChromaPaths {
  dir: string
  data: string
  record: string
  lock: string
  stamp: string
  log: string
}

export function chromaPaths(home: string): ChromaPaths {
  const dir = path.join(path.resolve(home), 'memory')
  return {
    dir,
    data: path.join(dir, 'chroma'),
    record: path.join(dir, 'server.json'),
    lock: path.join(dir, 'server.lock'),
    stamp: path.join(dir, 'last-used'),
    log: path.join(dir, 'chroma.log'),
  }
}

// ---------------------------------------------------------------------------------------------
// ensure

const inFlight = new Map<string, Promise<ChromaServerHandle>>()

/** Returns a reachable Chroma server: CHROMA_URL's, or the shared bundled one (reused or started). */
export async function ensureChromaServer(opts: EnsureChromaServerOptions): Promise<ChromaServerHandle> {
  const env = opts.env ?? process.env
  const external = env[CHROMA_URL_ENV]?.trim()
  if (external) return checkExternal(external, opts.onProgress)
  // two calls in one process share one attempt (the lock would serialise them anyway)
  const key = path.resolve(opts.home)
  const running = inFlight.get(key)
  if (running) return running
  const p = ensureBundled(opts, env).finally(() => inFlight.delete(key))
  inFlight.set(key, p)
  return p
}

async function checkExternal(raw: string, onProgress?: (s: ChromaServerStatus) => void): Promise<ChromaServerHandle> {
  let url: URL
  try {
    url = new URL(raw)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`)
  } catch (err) {
    throw new MiradorError(
      'MEMORY_UNAVAILABLE',
      `CHROMA_URL "${raw}" is not an http(s) URL (${(err as Error).message}). Set it like http://host:8000, or unset it to let Mirador run its own local Chroma.`,
      { cause: err, details: { url: raw } },
    )
  }
  const base = url.origin
  onProgress?.({ state: 'checking', message: `checking Chroma at ${base}`, url: base })
  const hb = await heartbeat(base, 3000)
  if (!hb.ok) {
    throw new MiradorError(
      'MEMORY_UNAVAILABLE',
      `Chroma at ${base} (CHROMA_URL) does not answer: ${hb.reason}. Start that server, correct CHROMA_URL, or unset CHROMA_URL to let Mirador run its own local Chroma.`,
      { details: { url: base } },
    )
  }
  onProgress?.({ state: 'ready', message: `Chroma at ${base}`, url: base })
  return { url: base, started: false }
}

async function ensureBundled(opts: EnsureChromaServerOptions, env: NodeJS.ProcessEnv): Promise<ChromaServerHandle> {
  const paths = chromaPaths(opts.home)
  const onProgress = opts.onProgress
  try {
    await mkdir(paths.data, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new MiradorError('MEMORY_UNAVAILABLE', `cannot create ${paths.data} for the local Chroma server: ${(err as Error).message}. Check MIRADOR_HOME and its permissions.`, {
      cause: err,
    })
  }
  const idleMs = opts.idleMs ?? idleFromEnv(env)
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS

  onProgress?.({ state: 'checking', message: 'checking the local Chroma server' })
  const unlock = await acquire(paths, startTimeoutMs + KILL_AFTER_MS + 5000, onProgress)
  try {
    const rec = await readRecord(paths)
    if (rec) {
      const health = await recordHealth(rec, paths)
      if (health.ok) {
        await touchChromaServer(opts.home, { force: true })
        onProgress?.({ state: 'ready', message: `Chroma at ${rec.url}`, url: rec.url })
        return { url: rec.url, started: false, pid: rec.pid, port: rec.port }
      }
      await stopRecorded(rec, paths, health)
      await rm(paths.record, { force: true })
    }
    await killOrphans(paths)
    onProgress?.({ state: 'starting', message: 'starting the local Chroma server' })
    let lastErr: unknown
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const started = await startServer(paths, idleMs, startTimeoutMs, opts.home)
        onProgress?.({ state: 'ready', message: `Chroma at ${started.url}`, url: started.url })
        return { url: started.url, started: true, pid: started.pid, port: started.port }
      } catch (err) {
        lastErr = err
        // a port taken between our probe and Chroma's bind is worth another port; nothing else is
        if (!(err instanceof PortTaken)) break
      }
    }
    throw lastErr instanceof PortTaken ? lastErr.error : lastErr
  } finally {
    unlock()
  }
}

class PortTaken extends Error {
  constructor(readonly error: MiradorError) {
    super(error.message)
  }
}

async function startServer(paths: ChromaPaths, idleMs: number, startTimeoutMs: number, home: string): Promise<ChromaServerRecord> {
  const cli = chromaCli()
  const port = await freePort()
  await rotateLog(paths.log)
  await touchChromaServer(home, { force: true })
  const startedAt = Date.now()
  const args: SupervisorArgs = {
    role: SUPERVISOR_ROLE,
    execPath: process.execPath,
    cli,
    dataDir: paths.data,
    host: HOST,
    port,
    stampFile: paths.stamp,
    lockFile: paths.lock,
    recordFile: paths.record,
    idleMs,
    pollMs: Math.min(30_000, Math.max(200, Math.floor(idleMs / 10))),
    killAfterMs: KILL_AFTER_MS,
    lockStaleMs: LOCK_STALE_MS,
    startedAt,
  }
  const logFd = fs.openSync(paths.log, 'a', 0o600)
  const logStart = fs.fstatSync(logFd).size
  let child: ChildProcess
  try {
    child = spawn(process.execPath, ['-e', SUPERVISOR_BOOTSTRAP, JSON.stringify(args)], {
      detached: true,
      stdio: ['ignore', logFd, logFd, 'ipc'],
      env: { ...serverEnv(process.env), [SUPERVISOR_ENV]: supervisorScript() },
      windowsHide: true,
    })
  } finally {
    fs.closeSync(logFd)
  }
  const url = `http://${HOST}:${port}`
  let chromaPid: number | undefined
  let exit: string | undefined
  child.on('message', (m: unknown) => {
    const pid = (m as { chromaPid?: unknown } | null)?.chromaPid
    if (typeof pid === 'number') chromaPid = pid
  })
  child.on('exit', (code, signal) => {
    exit = signal ?? `code ${code}`
  })
  child.on('error', (err) => {
    exit = err.message
  })
  const release = (): void => {
    child.removeAllListeners('message')
    if (child.connected) child.disconnect()
    child.unref()
  }

  const deadline = Date.now() + startTimeoutMs
  let ready = false
  while (Date.now() < deadline && exit === undefined) {
    if (chromaPid !== undefined && (await heartbeat(url, 1000)).ok) {
      ready = true
      break
    }
    await sleep(100)
  }
  if (!ready) {
    const tail = await logTail(paths.log, 8, logStart)
    if (exit === undefined && child.pid) {
      // it never answered: do not leave it behind
      try {
        process.kill(child.pid, 'SIGTERM')
      } catch {
        /* gone */
      }
      await waitDead([child.pid, chromaPid], KILL_AFTER_MS + 1000)
      killHard([child.pid, chromaPid])
    }
    release()
    const why = exit === undefined ? `no heartbeat within ${Math.round(startTimeoutMs / 1000)} s` : 'it exited'
    const err = new MiradorError(
      'MEMORY_UNAVAILABLE',
      `the local Chroma server did not start: ${why}. Last lines of ${paths.log}:\n${tail || '(empty)'}\n` +
        `Check the log, run \`mirador memory stop\` and retry, or set CHROMA_URL to a Chroma server you run yourself.`,
      { details: { log: paths.log, port } },
    )
    if (/not available|address already in use/i.test(tail)) throw new PortTaken(err)
    throw err
  }
  const rec: ChromaServerRecord = {
    version: 1,
    pid: child.pid!,
    chromaPid: chromaPid!,
    host: HOST,
    port,
    url,
    startedAt,
    dataDir: paths.data,
    idleMs,
    log: paths.log,
  }
  await writeFileAtomic(paths.record, JSON.stringify(rec, null, 2) + '\n', 0o600)
  release()
  return rec
}

// ---------------------------------------------------------------------------------------------
// stop, touch, info

/**
 * Stops the bundled server (`mirador memory stop`): SIGTERM to the supervisor, which stops Chroma
 * with SIGINT; SIGKILL to what is left after a bound. Removes the record; the data stays.
 * Returns whether a server was running.
 */
export async function stopChromaServer(home: string): Promise<boolean> {
  const paths = chromaPaths(home)
  if (!fs.existsSync(paths.dir)) return false
  const unlock = await acquire(paths, KILL_AFTER_MS * 2 + 5000)
  try {
    const rec = await readRecord(paths)
    let stopped = false
    if (rec) {
      const health = await recordHealth(rec, paths)
      stopped = health.supervisor || health.chroma
      await stopRecorded(rec, paths, health)
      await rm(paths.record, { force: true })
    }
    return (await killOrphans(paths)) || stopped
  } finally {
    unlock()
  }
}

const lastTouch = new Map<string, number>()

/**
 * Marks a Mirador use of the bundled server (resets its idle clock). Cheap (one utimes, at most
 * once a second per process unless `force`), never throws.
 */
export async function touchChromaServer(home: string, opts: { force?: boolean } = {}): Promise<void> {
  const stamp = chromaPaths(home).stamp
  const now = Date.now()
  if (!opts.force && now - (lastTouch.get(stamp) ?? 0) < TOUCH_THROTTLE_MS) return
  lastTouch.set(stamp, now)
  const t = new Date(now)
  try {
    await utimes(stamp, t, t)
  } catch {
    try {
      await writeFile(stamp, '', { mode: 0o600 })
      await utimes(stamp, t, t)
    } catch {
      /* no memory folder yet: nothing is running to keep alive */
    }
  }
}

export interface ChromaServerInfo {
  record?: ChromaServerRecord
  running: boolean
  /** ms since the last use */
  idleForMs?: number
}

/** What `mirador memory status` shows: the record and whether it is alive and answering. */
export async function chromaServerInfo(home: string): Promise<ChromaServerInfo> {
  const paths = chromaPaths(home)
  const rec = await readRecord(paths)
  if (!rec) return { running: false }
  const health = await recordHealth(rec, paths)
  const st = await stat(paths.stamp).catch(() => undefined)
  return { record: rec, running: health.ok, ...(st ? { idleForMs: Date.now() - st.mtimeMs } : {}) }
}

// ---------------------------------------------------------------------------------------------
// helpers

/** The environment the server runs with: no telemetry/tracing switches, no Node options. */
export function serverEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(base)) {
    if (/^(CHROMA_|OTEL_)/i.test(k) || k === 'NODE_OPTIONS' || k === 'ANONYMIZED_TELEMETRY') continue
    env[k] = v
  }
  return env
}

function idleFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[IDLE_ENV]?.trim()
  if (!raw) return DEFAULT_IDLE_MS
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    throw new MiradorError('MEMORY_UNAVAILABLE', `${IDLE_ENV}="${raw}" is not a whole number of milliseconds (0 = never stop); fix or unset it.`)
  }
  return n
}

/** chromadb's `chroma` CLI entry (dist/cli.mjs), resolved from this module. */
export function chromaCli(): string {
  let main: string
  try {
    main = createRequire(import.meta.url).resolve('chromadb')
  } catch (err) {
    throw new MiradorError('MEMORY_UNAVAILABLE', 'the chromadb package is not installed; reinstall Mirador, or set CHROMA_URL to a Chroma server.', { cause: err })
  }
  let dir = path.dirname(main)
  for (let i = 0; i < 4; i++) {
    const cli = path.join(dir, 'cli.mjs')
    if (fs.existsSync(cli) && path.basename(dir) === 'dist') return cli
    dir = path.dirname(dir)
  }
  throw new MiradorError('MEMORY_UNAVAILABLE', `chromadb's CLI (dist/cli.mjs) was not found near ${main}; reinstall Mirador, or set CHROMA_URL to a Chroma server.`)
}

export async function heartbeat(url: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const res = await fetch(`${url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(timeoutMs) })
    await res.body?.cancel().catch(() => {})
    if (res.ok) return { ok: true }
    return { ok: false, reason: `HTTP ${res.status} from /api/v2/heartbeat` }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } }
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { ok: false, reason: `no answer within ${timeoutMs} ms` }
    return { ok: false, reason: e.cause?.code ?? e.cause?.message ?? e.message }
  }
}

async function acquire(paths: ChromaPaths, timeoutMs: number, onProgress?: (s: ChromaServerStatus) => void): Promise<() => void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 })
  const deadline = Date.now() + timeoutMs
  let told = false
  for (;;) {
    const nonce = tryLock(fs, paths.lock, process.pid, LOCK_STALE_MS)
    if (nonce) return () => releaseLock(fs, paths.lock, nonce)
    if (Date.now() > deadline) {
      throw new MiradorError(
        'MEMORY_UNAVAILABLE',
        `another Mirador process has held ${paths.lock} for over ${Math.round(timeoutMs / 1000)} s while starting or stopping the local Chroma server. ` +
          `Wait and retry; if no other Mirador is running, delete that file.`,
        { details: { lock: paths.lock } },
      )
    }
    if (!told) {
      told = true
      onProgress?.({ state: 'waiting', message: 'waiting for another Mirador process to start Chroma' })
    }
    await sleep(40 + Math.floor(Math.random() * 60))
  }
}

async function readRecord(paths: ChromaPaths): Promise<ChromaServerRecord | undefined> {
  let text: string
  try {
    text = await readFile(paths.record, 'utf8')
  } catch {
    return undefined
  }
  try {
    const r = JSON.parse(text) as Partial<ChromaServerRecord>
    if (typeof r.pid === 'number' && typeof r.chromaPid === 'number' && typeof r.port === 'number' && typeof r.url === 'string') {
      return r as ChromaServerRecord
    }
  } catch {
    /* damaged: stale */
  }
  return { version: 1, pid: 0, chromaPid: 0, host: HOST, port: 0, url: '', startedAt: 0, dataDir: paths.data, idleMs: 0, log: paths.log }
}

interface Health {
  ok: boolean
  /** the supervisor pid is alive and is ours */
  supervisor: boolean
  /** the chroma pid is alive and is ours */
  chroma: boolean
}

async function recordHealth(rec: ChromaServerRecord, paths: ChromaPaths): Promise<Health> {
  const supervisor = rec.pid > 0 && isOurs(rec.pid, [SUPERVISOR_ROLE, paths.data])
  const chroma = rec.chromaPid > 0 && isOurs(rec.chromaPid, ['cli.mjs', paths.data])
  const ok = supervisor && chroma && rec.url !== '' && (await heartbeat(rec.url, 2000)).ok
  return { ok, supervisor, chroma }
}

/** Stops whatever is left of a recorded server that is not (fully) healthy, or all of it. */
async function stopRecorded(rec: ChromaServerRecord, paths: ChromaPaths, health: Health): Promise<void> {
  const pids: number[] = []
  if (health.supervisor) {
    signal(rec.pid, 'SIGTERM') // it stops chroma with SIGINT and exits
    pids.push(rec.pid)
  }
  if (health.chroma) {
    if (!health.supervisor) signal(rec.chromaPid, 'SIGINT')
    pids.push(rec.chromaPid)
  }
  if (pids.length === 0) return
  await waitDead(pids, KILL_AFTER_MS + 1000)
  killHard(pids.filter((p) => p === rec.pid ? isOurs(p, [SUPERVISOR_ROLE, paths.data]) : isOurs(p, ['cli.mjs', paths.data])))
  await waitDead(pids, 2000)
}

/** Chroma processes on this data folder that no record names (a lost record, a dead supervisor). */
async function killOrphans(paths: ChromaPaths): Promise<boolean> {
  const pids = findProcesses([paths.data]).filter((p) => p !== process.pid)
  if (pids.length === 0) return false
  const supervisors = pids.filter((p) => isOurs(p, [SUPERVISOR_ROLE]))
  for (const p of supervisors) signal(p, 'SIGTERM')
  for (const p of pids) if (!supervisors.includes(p)) signal(p, 'SIGINT')
  await waitDead(pids, KILL_AFTER_MS + 1000)
  killHard(pids.filter((p) => isOurs(p, [paths.data])))
  await waitDead(pids, 2000)
  return true
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone */
  }
}

function killHard(pids: (number | undefined)[]): void {
  for (const p of pids) if (p && alive(p)) signal(p, 'SIGKILL')
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function waitDead(pids: (number | undefined)[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!pids.some((p) => p !== undefined && p > 0 && alive(p) && !zombie(p))) return true
    if (Date.now() > deadline) return false
    await sleep(50)
  }
}

/** A child of this process that exited but was not reaped yet counts as dead. */
function zombie(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return st.slice(st.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return false
  }
}

/** The command line of a process, or undefined if it cannot be read (then pids are trusted alive-only). */
function cmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch (err) {
    if (process.platform === 'linux') return (err as NodeJS.ErrnoException).code === 'ENOENT' ? '' : undefined
  }
  try {
    return execFileSync('ps', ['-ww', '-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return ''
  }
}

function isOurs(pid: number, markers: string[]): boolean {
  if (!alive(pid) || zombie(pid)) return false
  const cmd = cmdline(pid)
  if (cmd === undefined) return true
  return markers.every((m) => cmd.includes(m))
}

/** Processes whose command line contains every marker (Linux /proc only; elsewhere none). */
function findProcesses(markers: string[]): number[] {
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return []
  }
  const out: number[] = []
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    const pid = Number(e)
    let cmd: string
    try {
      cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ')
    } catch {
      continue
    }
    if (markers.every((m) => cmd.includes(m)) && (cmd.includes('cli.mjs') || cmd.includes(SUPERVISOR_ROLE)) && !zombie(pid)) out.push(pid)
  }
  return out
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

async function rotateLog(log: string): Promise<void> {
  const st = await stat(log).catch(() => undefined)
  if (st && st.size > LOG_ROTATE_BYTES) await rename(log, `${log}.1`).catch(() => {})
}

/** The meaningful last lines the log got since `from`: no colours, banner, blank or backtrace lines. */
async function logTail(log: string, lines: number, from = 0): Promise<string> {
  try {
    const fh = await openFile(log, 'r')
    try {
      const { size } = await fh.stat()
      const start = Math.max(from, size - 64 * 1024)
      const buf = Buffer.alloc(Math.max(0, size - start))
      await fh.read(buf, 0, buf.length, start)
      const text = buf.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '')
      return text
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^\s*\d+: |^\s+at |\(\(\(|####|stack backtrace:|RUST_BACKTRACE/.test(l))
        .slice(-lines)
        .join('\n')
    } finally {
      await fh.close()
    }
  } catch {
    return ''
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
