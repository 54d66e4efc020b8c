/**
 * The supervisor of the shared Chroma server: a small detached Node process that
 *
 *   1. when `isolated`, runs in a network namespace of its own (start.ts spawns it through
 *      `unshare --user --map-root-user --net`) and brings its loopback up: Chroma, its child,
 *      then listens where no other process of the machine can connect;
 *   2. starts `chroma run --path DATA --host 127.0.0.1 --port N` as its child (stdout/stderr go to
 *      the log file the supervisor itself writes to) and reports the child's pid over IPC;
 *   3. receives over IPC the listening loopback socket the starting process opened (a socket keeps
 *      the network it was made in) and serves the guard on it (guard.ts): requests with the token
 *      of `server.token` go on to Chroma, others get 401;
 *   4. every `pollMs` looks at the mtime of the "last used" stamp file that each Mirador use
 *      touches (`touchChromaServer`); once it is older than `idleMs` it takes the server lock,
 *      looks again (a run may have touched it meanwhile), and if still idle stops Chroma (SIGINT,
 *      SIGKILL after `killAfterMs`), removes `server.json` if it still names this supervisor,
 *      releases the lock and exits. Holding the lock through the shutdown means no Mirador process
 *      can reuse a server that is going away, nor start a second one on the same data meanwhile;
 *   5. on SIGINT/SIGTERM/SIGHUP (`mirador memory stop`) stops Chroma the same way and exits, and
 *      so it does when the starting process goes away before handing over the socket;
 *   6. exits when Chroma exits on its own (crash, kill): the record is then stale and the next
 *      `ensureChromaServer` replaces it.
 *
 * It exists because `chroma run` blocks its own JavaScript thread, so it cannot time itself out,
 * and because the idle stop must work after the Mirador process that started it has exited.
 *
 * `supervisorMain` runs from its own source text: the program (supervisorScript) travels in the
 * environment variable SUPERVISOR_ENV and `node -e SUPERVISOR_BOOTSTRAP '<json args>'` evaluates it
 * (so `ps` shows a short command line, and Chroma does not inherit the variable). It must use only
 * its parameters and globals; the program passes it CommonJS's `require`, present under `node -e`.
 */
import { coverageShim } from '../../../lib/coverage-shim.js'
import { startGuard } from './guard.js'
import { releaseLock, tryLock } from './lock.js'

export const SUPERVISOR_ROLE = 'mirador-chroma-supervisor'
export const SUPERVISOR_ENV = 'MIRADOR_CHROMA_SUPERVISOR_JS'
/** what `node -e` runs: takes the program out of the environment, then runs it */
export const SUPERVISOR_BOOTSTRAP =
  '/* mirador: chroma supervisor */ ' +
  `const s = process.env.${SUPERVISOR_ENV}; delete process.env.${SUPERVISOR_ENV}; eval(s)`

/** What the supervisor tells its starting process over IPC. */
export type SupervisorMessage = { chromaPid: number; chromaPort: number } | { guarding: true } | { failed: string }

export interface SupervisorArgs {
  role: typeof SUPERVISOR_ROLE
  execPath: string
  /** chromadb's dist/cli.mjs */
  cli: string
  dataDir: string
  host: string
  stampFile: string
  /** the guard's token (read once, at start) */
  tokenFile: string
  /** run in a network namespace of its own (see the module comment); `ip` brings its loopback up */
  isolated: boolean
  ipPath: string
  lockFile: string
  recordFile: string
  /** 0: never stop for idleness */
  idleMs: number
  pollMs: number
  killAfterMs: number
  lockStaleMs: number
  startedAt: number
  /** the memory service to start beside Chroma (service/service.ts), when it is installed */
  service?: { module: string; home: string; socket: string }
}

/**
 * CommonJS's `require`, for the modules the supervisor uses. It comes in as a parameter, the
 * child's own: this function runs from its source text, and a bundler must see no `require` call
 * of its own to rewrite in it.
 */
interface SupervisorRequire {
  (id: 'node:fs'): typeof import('node:fs')
  (id: 'node:child_process'): typeof import('node:child_process')
  (id: 'node:url'): typeof import('node:url')
  (id: 'node:net'): typeof import('node:net')
  (id: 'node:crypto'): typeof import('node:crypto')
}

export function supervisorMain(
  require: SupervisorRequire,
  lock: typeof tryLock,
  unlock: typeof releaseLock,
  guard: typeof startGuard,
  a: SupervisorArgs,
): void {
  const fs = require('node:fs')
  const cp = require('node:child_process')
  const net = require('node:net')
  const say = (msg: string): void => {
    try {
      process.stderr.write(`[mirador supervisor ${process.pid} ${new Date().toISOString()}] ${msg}\n`)
    } catch {
      /* the log is best effort */
    }
  }
  const tell = (m: SupervisorMessage, then: () => void = () => {}): void => {
    if (process.send && process.connected) process.send(m, then)
  }
  let token = ''
  try {
    if (a.isolated) cp.execFileSync(a.ipPath, ['link', 'set', 'lo', 'up'], { stdio: 'ignore', timeout: 5000 })
    token = fs.readFileSync(a.tokenFile, 'utf8').trim()
    if (!token) throw new Error(`${a.tokenFile} is empty`)
  } catch (err) {
    say(`cannot start: ${(err as Error).message}`)
    tell({ failed: (err as Error).message }, () => process.exit(1))
    setTimeout(() => process.exit(1), 1000).unref()
    return
  }
  let child: import('node:child_process').ChildProcess | undefined
  let stopping = false
  let exited = false
  let guarding = false
  let held: string | null = null
  let timer: NodeJS.Timeout | undefined

  const finish = (): void => {
    if (timer) clearInterval(timer)
    // the record is removed only under the lock: never race an ensure that writes a new one
    const nonce = held ?? lock(fs, a.lockFile, process.pid, a.lockStaleMs)
    if (nonce) {
      try {
        const rec = JSON.parse(fs.readFileSync(a.recordFile, 'utf8')) as { pid?: unknown }
        if (rec.pid === process.pid) fs.rmSync(a.recordFile, { force: true })
      } catch {
        /* no record */
      }
      unlock(fs, a.lockFile, nonce)
    }
    say('exiting')
    process.exit(stopping ? 0 : 1)
  }
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    say(`stopping chroma: ${why}`)
    if (exited || !child) return finish()
    try {
      child.kill('SIGINT')
    } catch {
      /* gone */
    }
    setTimeout(() => {
      if (!exited) {
        say(`chroma did not stop within ${a.killAfterMs} ms: SIGKILL`)
        try {
          child?.kill('SIGKILL')
        } catch {
          /* gone */
        }
      }
    }, a.killAfterMs).unref()
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => stop(sig))
  // the starting process hands over the guard's socket; gone before that, nothing could reach Chroma
  process.on('disconnect', () => {
    if (!guarding) stop('the starting process went away')
  })
  process.on('message', (m: unknown, handle: unknown) => {
    if (guarding || !handle || (m as { guard?: unknown } | null)?.guard !== true || !child) return
    guarding = true
    guard(require, handle, { token, upstreamHost: a.host, upstreamPort: chromaPort }, () => {
      say(`guarding ${a.host} for chroma, ${a.isolated ? 'in a network of its own' : 'NOT isolated'}`)
      tell({ guarding: true }, () => {
        try {
          process.disconnect()
        } catch {
          /* already disconnected */
        }
      })
    })
  })

  // the memory service beside it: runs get their recall from this process, where it stays warm;
  // if it cannot start, runs recall by themselves and Chroma is supervised all the same. It talks
  // to Chroma's own port: it shares the supervisor's network, where the guard's port is not
  const startService = (): void => {
    const service = a.service
    if (!service) return
    const touch = (): void => {
      const now = new Date()
      try {
        fs.utimesSync(a.stampFile, now, now)
      } catch {
        /* the next run's touch will do */
      }
    }
    import(require('node:url').pathToFileURL(service.module).href)
      .then((m: { startMemoryService: (o: object) => Promise<unknown> }) =>
        m.startMemoryService({
          home: service.home,
          socket: service.socket,
          chromaUrl: `http://${a.host}:${chromaPort}`,
          chromaToken: token,
          touch,
          log: say,
        }),
      )
      .catch((err: Error) => say(`memory service not started: ${err.message}`))
  }

  let chromaPort = 0
  // a free port where Chroma will listen (in the supervisor's own network when isolated)
  const probe = net.createServer()
  probe.once('error', (err) => {
    say(`no free port for chroma: ${err.message}`)
    exited = true
    finish()
  })
  probe.listen(0, a.host, () => {
    chromaPort = (probe.address() as import('node:net').AddressInfo).port
    probe.close(() => {
      if (stopping) return finish()
      const args = [a.cli, 'run', '--path', a.dataDir, '--host', a.host, '--port', String(chromaPort)]
      const c = cp.spawn(a.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: process.env })
      child = c
      say(`started chroma pid ${c.pid} on ${a.host}:${chromaPort}, idle stop after ${a.idleMs} ms`)
      if (c.pid) tell({ chromaPid: c.pid, chromaPort })
      startService()
      c.on('error', (err) => {
        say(`could not start chroma: ${err.message}`)
        exited = true
        finish()
      })
      c.on('exit', (code, signal) => {
        exited = true
        say(`chroma exited (${signal ?? `code ${code}`})`)
        finish()
      })
    })
  })

  if (a.idleMs > 0) {
    const lastUse = (): number => {
      try {
        return Math.max(fs.statSync(a.stampFile).mtimeMs, a.startedAt)
      } catch {
        return a.startedAt
      }
    }
    timer = setInterval(() => {
      if (stopping || Date.now() - lastUse() < a.idleMs) return
      const nonce = lock(fs, a.lockFile, process.pid, a.lockStaleMs)
      if (!nonce) return // someone is checking or starting: look again next time
      const idle = Date.now() - lastUse()
      if (idle < a.idleMs) {
        unlock(fs, a.lockFile, nonce)
        return
      }
      held = nonce
      if (timer) clearInterval(timer)
      stop(`idle for ${Math.round(idle / 1000)} s`)
    }, a.pollMs)
  }
}

/**
 * The supervisor program (run by SUPERVISOR_BOOTSTRAP); its argument is the JSON of SupervisorArgs.
 * coverageShim keeps it running under `jest --coverage`.
 */
export function supervisorScript(): string {
  const fns = [tryLock, releaseLock, startGuard].map((f) => `(${f.toString()})`).join(',')
  const args = `require,${fns},JSON.parse(process.argv[1])`
  const body = `(${supervisorMain.toString()})(${args});`
  return `"use strict";${coverageShim(body)}${body}`
}
