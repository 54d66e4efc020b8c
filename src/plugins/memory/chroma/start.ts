/**
 * Starting the bundled Chroma server: this process opens the guard's loopback port, spawns the
 * supervisor (supervisor.ts) detached with `node -e` (through `unshare` when Chroma can have a
 * network of its own: see isolation.ts), hands it the listening socket over IPC once it has
 * started `chroma run`, waits for the heartbeat through the guard, then writes the server record.
 * A server that never answers is stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { PACKAGE_ROOT } from '../../../engine/package-root.js'
import { serviceSocket } from '../service/protocol.js'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'
import { writeFileAtomic } from '../../../lib/atomic-write.js'
import { MiradorError } from '../../../engine/errors.js'
import type { Isolation } from './isolation.js'
import { heartbeat, KILL_AFTER_MS, killHard, sleep, waitDead } from './processes.js'
import {
  HOST,
  LOCK_STALE_MS,
  logTail,
  rotateLog,
  touchChromaServer,
  type ChromaPaths,
  type ChromaServerRecord,
} from './records.js'
import {
  SUPERVISOR_BOOTSTRAP,
  SUPERVISOR_ENV,
  SUPERVISOR_ROLE,
  supervisorScript,
  type SupervisorArgs,
  type SupervisorMessage,
} from './supervisor.js'

/** The start failed because Chroma could not bind the port it was given: worth another port. */
export class PortTaken extends Error {
  constructor(readonly error: MiradorError) {
    super(error.message)
  }
}

export interface StartOptions {
  idleMs: number
  startTimeoutMs: number
  /** the guard's token (records.ts readToken) */
  token: string
  isolation: Isolation
  /** write server.json (false: a private server for maintenance, that no other process finds) */
  record?: boolean
}

export async function startServer(paths: ChromaPaths, home: string, o: StartOptions): Promise<ChromaServerRecord> {
  const cli = chromaCli()
  const guard = await listenLoopback()
  const port = (guard.address() as net.AddressInfo).port
  await rotateLog(paths.log)
  await touchChromaServer(home, { force: true })
  const startedAt = Date.now()
  const args: SupervisorArgs = {
    role: SUPERVISOR_ROLE,
    execPath: process.execPath,
    cli,
    dataDir: paths.data,
    host: HOST,
    stampFile: paths.stamp,
    lockFile: paths.lock,
    recordFile: paths.record,
    tokenFile: paths.token,
    isolated: o.isolation.ok,
    ipPath: o.isolation.ok ? o.isolation.ip : '',
    idleMs: o.idleMs,
    pollMs: Math.min(30_000, Math.max(200, Math.floor(o.idleMs / 10))),
    killAfterMs: KILL_AFTER_MS,
    lockStaleMs: LOCK_STALE_MS,
    startedAt,
    ...memoryService(home),
  }
  const node = [process.execPath, '-e', SUPERVISOR_BOOTSTRAP, JSON.stringify(args)]
  const [cmd, ...argv] = o.isolation.ok ? [...o.isolation.prefix, ...node] : node
  const logFd = fs.openSync(paths.log, 'a', 0o600)
  const logStart = fs.fstatSync(logFd).size
  let child: ChildProcess
  try {
    child = spawn(cmd!, argv, {
      detached: true,
      stdio: ['ignore', logFd, logFd, 'ipc'],
      env: { ...serverEnv(process.env), [SUPERVISOR_ENV]: supervisorScript() },
      windowsHide: true,
    })
  } catch (err) {
    guard.close()
    throw err
  } finally {
    fs.closeSync(logFd)
  }
  const url = `http://${HOST}:${port}`
  let chromaPid: number | undefined
  let chromaPort: number | undefined
  let guarding = false
  let exit: string | undefined
  child.on('message', (raw: unknown) => {
    const m = (raw ?? {}) as SupervisorMessage
    if ('chromaPid' in m && typeof m.chromaPid === 'number') {
      chromaPid = m.chromaPid
      chromaPort = typeof m.chromaPort === 'number' ? m.chromaPort : undefined
      // the supervisor now holds the guard's socket: this process keeps no copy of it
      child.send({ guard: true }, guard, () => guard.close())
    } else if ('guarding' in m) guarding = true
    else if ('failed' in m) exit = `the supervisor could not start: ${String(m.failed)}`
  })
  child.on('exit', (code, signal) => {
    exit ??= signal ?? `code ${code}`
  })
  child.on('error', (err) => {
    exit = err.message
  })
  const release = (): void => {
    child.removeAllListeners('message')
    if (child.connected) child.disconnect()
    child.unref()
    if (guard.listening) guard.close()
  }

  const deadline = Date.now() + o.startTimeoutMs
  let ready = false
  while (Date.now() < deadline && exit === undefined) {
    if (guarding && (await heartbeat(url, 1000, o.token)).ok) {
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
    const why =
      exit === undefined ? `no heartbeat within ${Math.round(o.startTimeoutMs / 1000)} s` : `it exited (${exit})`
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
    ...(chromaPort ? { chromaPort } : {}),
    isolated: o.isolation.ok,
    startedAt,
    dataDir: paths.data,
    idleMs: o.idleMs,
    log: paths.log,
  }
  if (o.record !== false) await writeFileAtomic(paths.record, JSON.stringify(rec, null, 2) + '\n', 0o600)
  release()
  return rec
}

/** The environment the server runs with: no telemetry/tracing switches, no Node options. */
export function serverEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(base)) {
    if (/^(CHROMA_|OTEL_)/i.test(k) || k === 'NODE_OPTIONS' || k === 'ANONYMIZED_TELEMETRY') continue
    env[k] = v
  }
  return env
}

/** chromadb's `chroma` CLI entry (dist/cli.mjs), resolved from this module. */
export function chromaCli(): string {
  let main: string
  try {
    main = createRequire(import.meta.url).resolve('chromadb')
  } catch (err) {
    throw new MiradorError(
      'MEMORY_UNAVAILABLE',
      'the chromadb package is not installed; reinstall Mirador, or set CHROMA_URL to a Chroma server.',
      { cause: err },
    )
  }
  let dir = path.dirname(main)
  for (let i = 0; i < 4; i++) {
    const cli = path.join(dir, 'cli.mjs')
    if (fs.existsSync(cli) && path.basename(dir) === 'dist') return cli
    dir = path.dirname(dir)
  }
  throw new MiradorError(
    'MEMORY_UNAVAILABLE',
    `chromadb's CLI (dist/cli.mjs) was not found near ${main}; ` +
      'reinstall Mirador, or set CHROMA_URL to a Chroma server.',
  )
}

/** A server listening on a free loopback port: the guard's, opened here and handed to the supervisor. */
async function listenLoopback(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, HOST, () => resolve(srv))
  })
}

/** The memory service to start beside Chroma: the compiled module, when Mirador is built. */
function memoryService(home: string): Pick<SupervisorArgs, 'service'> {
  const module = path.join(PACKAGE_ROOT, 'dist', 'plugins', 'memory', 'service', 'service.js')
  return fs.existsSync(module) ? { service: { module, home, socket: serviceSocket(home) } } : {}
}
