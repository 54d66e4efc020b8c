/**
 * The Chroma server Mirador's memory talks to.
 *
 * - `CHROMA_URL` set: that server, checked with a heartbeat. Nothing is started.
 * - Otherwise the server bundled with the `chromadb` package (`chroma run`, Rust), data in
 *   `$MIRADOR_HOME/memory/chroma`. It runs detached, shared by every later Mirador run, under a
 *   small supervisor process (supervisor.ts) that stops it after `idleMs` without use (default
 *   15 min; `MIRADOR_CHROMA_IDLE_MS`, 0 = never). Only Mirador talks to it: Chroma listens in a
 *   network of its own where the system allows (isolation.ts), and the one way in is the guard
 *   (guard.ts) on a free 127.0.0.1 port, which wants the token of `server.token`.
 *
 * Files under `$MIRADOR_HOME/memory/` (folder 0700, files 0600):
 *
 *   chroma/       the data (survives stops, crashes and SIGKILL)
 *   server.json   {pid (supervisor), chromaPid, port, url, isolated, startedAt, …}, written atomically
 *   server.token  the guard's credential (32 random bytes, hex), created once
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
 *  - listening: `--host 127.0.0.1` (the CLI's default would be `localhost`), in a private network
 *    when isolated; the guard on 127.0.0.1.
 *  - measured: under `strace -f -e trace=connect,sendto,sendmsg,bind` a start, 50 adds, a query,
 *    8 s idle and a stop made no connect() other than Mirador's own to 127.0.0.1:<port>, and no DNS.
 * The chromadb JS client contacts only the URL it is given (see store.ts for its embedding function).
 *
 * This file checks, reuses, starts and stops the server; the rest is split by purpose: records.ts
 * (the files above), processes.ts (process and heartbeat checks, stopping), start.ts (spawning the
 * supervisor, supervisor.ts). What they export for other code is re-exported here.
 */
import * as fs from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../../engine/errors.js'
import { releaseLock, tryLock } from './lock.js'
import { isolation } from './isolation.js'
import { alive, heartbeat, KILL_AFTER_MS, killOrphans, recordHealth, sleep, stopRecorded } from './processes.js'
import {
  chromaPaths,
  LOCK_STALE_MS,
  readRecord,
  readToken,
  touchChromaServer,
  type ChromaPaths,
  type ChromaServerRecord,
} from './records.js'
import { PortTaken, startServer } from './start.js'

export { alive, heartbeat } from './processes.js'
export { TOKEN_HEADER } from './guard.js'
export { ISOLATE_ENV } from './isolation.js'
export { chromaPaths, touchChromaServer, type ChromaPaths, type ChromaServerRecord } from './records.js'
export { chromaCli, serverEnv } from './start.js'

export const DEFAULT_IDLE_MS = 15 * 60_000
export const IDLE_ENV = 'MIRADOR_CHROMA_IDLE_MS'
export const CHROMA_URL_ENV = 'CHROMA_URL'
export const DEFAULT_START_TIMEOUT_MS = 15_000

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
  /** what every request to the bundled server carries (guard.ts); none for CHROMA_URL */
  token?: string
  /** the bundled Chroma listens in a network of its own (isolation.ts) */
  isolated?: boolean
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
      `Chroma at ${base} (CHROMA_URL) does not answer: ${hb.reason}. ` +
        'Start that server, correct CHROMA_URL, or unset CHROMA_URL to let Mirador run its own local Chroma.',
      { details: { url: base } },
    )
  }
  onProgress?.({ state: 'ready', message: `Chroma at ${base}`, url: base })
  return { url: base, started: false }
}

/**
 * The bundled server this home's record names, when both its processes are alive: a run may use it
 * at once, without the lock and the heartbeat. The first request to it is the check; a server that
 * is gone after all is found again, or started, by ensureChromaServer. Undefined with CHROMA_URL
 * (that path is one heartbeat already) or when nothing is recorded.
 */
export async function knownChromaServer(
  home: string,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; token: string } | undefined> {
  if (env[CHROMA_URL_ENV]) return undefined
  const paths = chromaPaths(home)
  const rec = await readRecord(paths)
  if (!rec || !rec.url || !alive(rec.pid) || !alive(rec.chromaPid)) return undefined
  const token = await readToken(paths, false).catch(() => undefined)
  return token ? { url: rec.url, token } : undefined
}

async function ensureBundled(opts: EnsureChromaServerOptions, env: NodeJS.ProcessEnv): Promise<ChromaServerHandle> {
  const paths = chromaPaths(opts.home)
  const onProgress = opts.onProgress
  try {
    await mkdir(paths.data, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new MiradorError(
      'MEMORY_UNAVAILABLE',
      `cannot create ${paths.data} for the local Chroma server: ${(err as Error).message}. ` +
        'Check MIRADOR_HOME and its permissions.',
      {
        cause: err,
      },
    )
  }
  const idleMs = opts.idleMs ?? idleFromEnv(env)
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS

  onProgress?.({ state: 'checking', message: 'checking the local Chroma server' })
  const unlock = await acquire(paths, startTimeoutMs + KILL_AFTER_MS + 5000, onProgress)
  try {
    const token = (await readToken(paths, true))!
    const rec = await readRecord(paths)
    if (rec) {
      const health = await recordHealth(rec, paths)
      if (health.ok) {
        await touchChromaServer(opts.home, { force: true })
        onProgress?.({ state: 'ready', message: `Chroma at ${rec.url}`, url: rec.url })
        return handle(rec, false, token)
      }
      await stopRecorded(rec, paths, health)
      await rm(paths.record, { force: true })
    }
    await killOrphans(paths)
    onProgress?.({ state: 'starting', message: 'starting the local Chroma server' })
    const started = await startWithRetries(paths, opts.home, env, { idleMs, startTimeoutMs, token })
    onProgress?.({ state: 'ready', message: `Chroma at ${started.url}`, url: started.url })
    return handle(started, true, token)
  } finally {
    unlock()
  }
}

function handle(rec: ChromaServerRecord, started: boolean, token: string): ChromaServerHandle {
  return { url: rec.url, started, pid: rec.pid, port: rec.port, token, isolated: rec.isolated === true }
}

export async function startWithRetries(
  paths: ChromaPaths,
  home: string,
  env: NodeJS.ProcessEnv,
  o: { idleMs: number; startTimeoutMs: number; token: string; record?: boolean },
): Promise<ChromaServerRecord> {
  const how = await isolation(env)
  let lastErr: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startServer(paths, home, { ...o, isolation: how })
    } catch (err) {
      lastErr = err
      // a port taken between our probe and Chroma's bind is worth another port; nothing else is
      if (!(err instanceof PortTaken)) break
    }
  }
  throw lastErr instanceof PortTaken ? lastErr.error : lastErr
}

// ---------------------------------------------------------------------------------------------
// stop, info

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

function idleFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[IDLE_ENV]?.trim()
  if (!raw) return DEFAULT_IDLE_MS
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    throw new MiradorError(
      'MEMORY_UNAVAILABLE',
      `${IDLE_ENV}="${raw}" is not a whole number of milliseconds (0 = never stop); fix or unset it.`,
    )
  }
  return n
}

export async function acquire(
  paths: ChromaPaths,
  timeoutMs: number,
  onProgress?: (s: ChromaServerStatus) => void,
): Promise<() => void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 })
  const deadline = Date.now() + timeoutMs
  let told = false
  for (;;) {
    const nonce = tryLock(fs, paths.lock, process.pid, LOCK_STALE_MS)
    if (nonce) return () => releaseLock(fs, paths.lock, nonce)
    if (Date.now() > deadline) {
      throw new MiradorError(
        'MEMORY_UNAVAILABLE',
        `another Mirador process has held ${paths.lock} for over ${Math.round(timeoutMs / 1000)} s ` +
          'while starting or stopping the local Chroma server. ' +
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
