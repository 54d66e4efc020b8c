/**
 * The pool of sandbox worker processes (the parent side of the sandbox).
 *
 * - Lazy: no process starts until a call needs one; at most `size` workers, each running one call
 *   at a time; further calls wait in a queue (FIFO).
 * - A worker is `node --no-node-snapshot --no-expose-wasm [permission flags] -e WORKER_BOOTSTRAP`,
 *   with an empty environment, stdout ignored, stderr kept (its tail explains a crash) and an IPC
 *   channel; its program arrives in the first message (program.ts).
 * - Deadline: the worker ends a call at `timeoutMs` itself; if it has not answered `KILL_GRACE_MS`
 *   later, the parent SIGKILLs it and answers TOOL_TIMEOUT. A worker that dies (or sends anything
 *   malformed: it runs hostile code, so its messages are checked, never trusted) is dropped and the
 *   call answers TOOL_CRASH; the next call starts a replacement.
 * - Capabilities: a tool's `host.call(name, args)` reaches `onCapability`, which calls the host
 *   function only if the name was granted for this call and is an own key of `host`, with arguments
 *   parsed here from bounded JSON text; the answer goes back as JSON text (bounded) or a message.
 * - Results: the worker sends JSON text; it is measured in bytes, parsed and depth-checked here.
 * - Idle workers and their channels are unref'd: an idle pool does not keep the process alive.
 *   Workers still running when the process exits are SIGKILLed (one `exit` listener for all pools).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { Socket } from 'node:net'
import path from 'node:path'
import type { CapMessage, FromWorker, RunMessage, ToWorker } from './protocol.js'
import { isolateSource, workerProgram } from './program.js'
import type { Capabilities, SandboxCall, SandboxErrorCode, SandboxPool, SandboxResult } from './types.js'
import { WORKER_BOOTSTRAP } from './worker.js'
import {
  clamp,
  clean,
  ivmLocation,
  messageOf,
  nestedDeeperThan,
  track,
  untrack,
  workerExecArgv,
} from './worker-process.js'

export { nestedDeeperThan, workerExecArgv }

export interface SandboxPoolOptions {
  /** worker processes at most (default 2) */
  size?: number
  /**
   * The worker's program instead of the built-in one (for tests and diagnostics): a function body
   * run in the worker with `require` and `boot` ({ ivmPath, isolateSource }) in scope, speaking
   * the protocol of protocol.ts.
   */
  workerScript?: string
  /** how long after a call's deadline the parent kills a worker that has not answered (default 500 ms) */
  killGraceMs?: number
  /** how long a worker may take to start (default 20 s) */
  startTimeoutMs?: number
}

/** The pool, plus what tests and benchmarks look at. */
export interface SandboxPoolHandle extends SandboxPool {
  /** pids of the live worker processes */
  pids(): number[]
}

export const SANDBOX_LIMITS = {
  /** most bytes of a tool's source */
  maxSourceBytes: 4 * 1024 * 1024,
  /** most bytes of the JSON arguments of one capability call */
  maxCallArgBytes: 256 * 1024,
  /** most bytes of the JSON answer of one capability call */
  maxCallReplyBytes: 4 * 1024 * 1024,
  /** capability calls in one tool call, and at once */
  maxCalls: 100,
  maxInFlight: 8,
  /** deepest nesting of arrays/objects in a result or capability arguments */
  maxDepth: 64,
  /** the clamps of SandboxLimits */
  timeoutMs: { min: 1, max: 600_000, fallback: 2000 },
  memoryMb: { min: 8, max: 4096, fallback: 32 },
  maxOutputBytes: { min: 1, max: 64 * 1024 * 1024, fallback: 64 * 1024 },
} as const

const KILL_GRACE_MS = 500
const START_TIMEOUT_MS = 20_000
const STDERR_TAIL = 2000

// ------------------------------------------------------------------------------------------------
// jobs and workers

interface Job {
  id: number
  msg: RunMessage
  capabilities: Set<string>
  host: Capabilities | undefined
  t0: number
  done: boolean
  resolve: (r: SandboxResult) => void
}

interface Worker {
  child: ChildProcess
  ready: boolean
  /** killed or exited: no longer given calls */
  gone: boolean
  job?: Job
  startTimer?: NodeJS.Timeout
  killTimer?: NodeJS.Timeout
  stderr: string
  exited: Promise<void>
}

const ERROR_CODES: ReadonlySet<string> = new Set<SandboxErrorCode>([
  'TOOL_TIMEOUT',
  'TOOL_MEMORY',
  'TOOL_OUTPUT',
  'TOOL_FAILED',
  'TOOL_CRASH',
])

export function createSandboxPool(options: SandboxPoolOptions = {}): SandboxPoolHandle {
  const size = Math.max(1, Math.floor(options.size ?? 2))
  const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS
  const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS
  const workers: Worker[] = []
  const all = new Set<Worker>()
  const queue: Job[] = []
  /** calls not answered yet */
  const pending = new Set<Job>()
  let nextId = 1
  let closed = false
  let program: { program: string; isolateSource: string } | undefined

  const ms = (job: Job) => Math.round(performance.now() - job.t0)

  function complete(
    job: Job,
    r: { ok: true; value: unknown } | { ok: false; code: SandboxErrorCode; error: string },
  ): void {
    if (job.done) return
    job.done = true
    pending.delete(job)
    job.resolve(
      r.ok
        ? { ok: true, value: r.value, ms: ms(job) }
        : { ok: false, code: r.code, error: clean(r.error), ms: ms(job) },
    )
  }

  function send(w: Worker, msg: ToWorker): void {
    try {
      w.child.send(msg, (err) => {
        if (err) kill(w, `could not talk to the sandbox worker: ${err.message}`)
      })
    } catch (err) {
      kill(w, `could not talk to the sandbox worker: ${messageOf(err)}`)
    }
  }

  /** Ends a worker; its call (if any, and not answered yet) gets TOOL_CRASH with `why`. */
  function kill(w: Worker, why: string, code: SandboxErrorCode = 'TOOL_CRASH'): void {
    if (!w.gone) {
      w.gone = true
      const i = workers.indexOf(w)
      if (i >= 0) workers.splice(i, 1)
    }
    clearTimeout(w.startTimer)
    clearTimeout(w.killTimer)
    try {
      w.child.kill('SIGKILL')
    } catch {
      /* already gone */
    }
    const job = w.job
    w.job = undefined
    if (job) complete(job, { ok: false, code, error: why })
    setImmediate(pump)
  }

  function idle(w: Worker): void {
    w.child.unref()
    w.child.channel?.unref?.()
  }
  function busy(w: Worker): void {
    w.child.ref()
    w.child.channel?.ref?.()
  }

  function spawnWorker(): Worker {
    const ivm = ivmLocation()
    program ??= { program: options.workerScript ?? workerProgram(), isolateSource: isolateSource() }
    const child = spawn(process.execPath, [...workerExecArgv(ivm.dir), '-e', WORKER_BOOTSTRAP], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {},
      serialization: 'json',
      windowsHide: true,
    })
    track(child)
    let exitedResolve!: () => void
    const w: Worker = { child, ready: false, gone: false, stderr: '', exited: new Promise((r) => (exitedResolve = r)) }
    workers.push(w)
    all.add(w)
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      w.stderr = (w.stderr + chunk).slice(-STDERR_TAIL)
    })
    // the stderr pipe is a socket: unref it so that an idle worker does not keep this process alive
    if (child.stderr instanceof Socket) child.stderr.unref()
    child.on('message', (m: unknown) => onMessage(w, m))
    child.on('error', (err) => {
      kill(w, `the sandbox worker could not start: ${err.message}`)
      if (child.pid === undefined) {
        untrack(child)
        all.delete(w)
        exitedResolve()
      }
    })
    child.on('exit', (code, signal) => {
      untrack(child)
      all.delete(w)
      const tail = w.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ')
      kill(w, `the sandbox worker died (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ''}`)
      exitedResolve()
    })
    w.startTimer = setTimeout(
      () => kill(w, `the sandbox worker did not start within ${startTimeoutMs} ms`),
      startTimeoutMs,
    )
    send(w, { t: 'boot', program: program.program, isolateSource: program.isolateSource, ivmPath: ivm.main })
    return w
  }

  function dispatch(w: Worker, job: Job): void {
    w.job = job
    busy(w)
    if (!w.ready) return // sent once the worker says it is ready
    w.killTimer = setTimeout(
      () =>
        kill(
          w,
          `the tool ran past its time limit of ${job.msg.timeoutMs} ms (the sandbox worker was killed)`,
          'TOOL_TIMEOUT',
        ),
      job.msg.timeoutMs + killGraceMs,
    )
    send(w, job.msg)
  }

  function pump(): void {
    while (queue.length > 0 && !closed) {
      const free = workers.find((w) => w.ready && !w.job && !w.gone)
      if (free) dispatch(free, queue.shift() as Job)
      else if (workers.length < size) dispatch(spawnWorker(), queue.shift() as Job)
      else break
    }
  }

  function onMessage(w: Worker, raw: unknown): void {
    if (w.gone) return
    const m = raw as FromWorker
    if (!m || typeof m !== 'object') return kill(w, 'the sandbox worker sent a malformed message')
    if (m.t === 'ready') {
      if (w.ready) return kill(w, 'the sandbox worker sent a malformed message')
      w.ready = true
      clearTimeout(w.startTimer)
      if (w.job) dispatch(w, w.job)
      else idle(w)
      return pump()
    }
    const job = w.job
    if (!job || m.id !== job.id) return kill(w, 'the sandbox worker answered a call it was not given')
    if (m.t === 'cap') return void onCapability(w, job, m)
    if (m.t !== 'result' || typeof m.ok !== 'boolean') return kill(w, 'the sandbox worker sent a malformed message')
    if (
      m.ok
        ? typeof m.json !== 'string'
        : typeof m.code !== 'string' || !ERROR_CODES.has(m.code) || typeof m.error !== 'string'
    ) {
      return kill(w, 'the sandbox worker sent a malformed result')
    }
    clearTimeout(w.killTimer)
    w.job = undefined
    complete(job, m.ok ? decodeResult(m.json, job.msg.maxOutputBytes) : { ok: false, code: m.code, error: m.error })
    if (m.recycle === true) return kill(w, 'recycled')
    idle(w)
    pump()
  }

  function decodeResult(
    json: string,
    maxBytes: number,
  ): { ok: true; value: unknown } | { ok: false; code: SandboxErrorCode; error: string } {
    const bytes = Buffer.byteLength(json)
    if (bytes > maxBytes)
      return { ok: false, code: 'TOOL_OUTPUT', error: `the result is larger than ${maxBytes} bytes of JSON (${bytes})` }
    let value: unknown
    try {
      value = JSON.parse(json)
    } catch {
      return { ok: false, code: 'TOOL_OUTPUT', error: 'the result is not JSON' }
    }
    if (nestedDeeperThan(value, SANDBOX_LIMITS.maxDepth))
      return { ok: false, code: 'TOOL_OUTPUT', error: `the result nests deeper than ${SANDBOX_LIMITS.maxDepth} levels` }
    return { ok: true, value }
  }

  async function onCapability(w: Worker, job: Job, m: CapMessage): Promise<void> {
    const { callId, name, args } = m
    if (
      typeof callId !== 'number' ||
      !Number.isSafeInteger(callId) ||
      typeof name !== 'string' ||
      typeof args !== 'string'
    )
      return kill(w, 'the sandbox worker sent a malformed capability call')
    const reply = (ok: boolean, payload: string) => {
      if (!job.done && w.job === job && !w.gone) send(w, { t: 'capResult', id: job.id, callId, ok, payload })
    }
    const fn = job.host && Object.hasOwn(job.host, name) ? job.host[name] : undefined
    if (!job.capabilities.has(name) || typeof fn !== 'function')
      return reply(false, `the capability "${clean(name, 100)}" was not granted to this tool`)
    if (Buffer.byteLength(args) > SANDBOX_LIMITS.maxCallArgBytes)
      return reply(false, `the arguments are larger than ${SANDBOX_LIMITS.maxCallArgBytes} bytes of JSON`)
    let value: unknown
    try {
      value = JSON.parse(args)
    } catch {
      return reply(false, 'the arguments are not JSON')
    }
    if (nestedDeeperThan(value, SANDBOX_LIMITS.maxDepth))
      return reply(false, `the arguments nest deeper than ${SANDBOX_LIMITS.maxDepth} levels`)
    let answer: string | undefined
    try {
      const out = await Reflect.apply(fn, job.host, [value])
      answer = out === undefined ? 'null' : JSON.stringify(out)
    } catch (err) {
      return reply(false, clean(messageOf(err), 300))
    }
    if (typeof answer !== 'string') return reply(false, 'the capability answered something that is not JSON')
    if (Buffer.byteLength(answer) > SANDBOX_LIMITS.maxCallReplyBytes)
      return reply(false, `the answer is larger than ${SANDBOX_LIMITS.maxCallReplyBytes} bytes of JSON`)
    reply(true, answer)
  }

  function prepare(call: SandboxCall, id: number): RunMessage | string {
    if (!call || typeof call !== 'object') return 'the call is not an object'
    if (typeof call.source !== 'string') return 'the tool source is not text'
    if (Buffer.byteLength(call.source) > SANDBOX_LIMITS.maxSourceBytes)
      return `the tool source is larger than ${SANDBOX_LIMITS.maxSourceBytes} bytes`
    let args: string | undefined
    try {
      args = call.args === undefined ? 'null' : JSON.stringify(call.args)
    } catch {
      args = undefined
    }
    if (typeof args !== 'string') return 'the arguments are not JSON'
    const limits = call.limits ?? ({} as SandboxCall['limits'])
    const base = typeof call.filename === 'string' ? path.basename(call.filename) : ''
    const filename = clean(base, 100).replace(/[^\w.@+-]/g, '_') || 'tool.mjs'
    return {
      t: 'run',
      id,
      source: call.source,
      filename,
      args,
      timeoutMs: clamp(limits.timeoutMs, SANDBOX_LIMITS.timeoutMs),
      memoryMb: clamp(limits.memoryMb, SANDBOX_LIMITS.memoryMb),
      maxOutputBytes: clamp(limits.maxOutputBytes, SANDBOX_LIMITS.maxOutputBytes),
      capabilities: Array.isArray(call.capabilities)
        ? call.capabilities.filter((c): c is string => typeof c === 'string')
        : [],
      maxCallArgBytes: SANDBOX_LIMITS.maxCallArgBytes,
      maxCalls: SANDBOX_LIMITS.maxCalls,
      maxInFlight: SANDBOX_LIMITS.maxInFlight,
    }
  }

  return {
    run(call: SandboxCall, host?: Capabilities): Promise<SandboxResult> {
      const t0 = performance.now()
      return new Promise<SandboxResult>((resolve) => {
        try {
          const id = nextId++
          const msg = prepare(call, id)
          const job: Job = { id, msg: msg as RunMessage, capabilities: new Set(), host, t0, done: false, resolve }
          if (closed) return complete(job, { ok: false, code: 'TOOL_CRASH', error: 'the sandbox pool is closed' })
          if (typeof msg === 'string') return complete(job, { ok: false, code: 'TOOL_FAILED', error: msg })
          job.capabilities = new Set(msg.capabilities)
          pending.add(job)
          queue.push(job)
          pump()
        } catch (err) {
          resolve({
            ok: false,
            code: 'TOOL_CRASH',
            error: clean(`the sandbox failed: ${messageOf(err)}`),
            ms: Math.round(performance.now() - t0),
          })
        }
      })
    },

    async close(): Promise<void> {
      closed = true
      for (const job of queue.splice(0))
        complete(job, { ok: false, code: 'TOOL_CRASH', error: 'the sandbox pool was closed' })
      const waits: Promise<void>[] = []
      for (const w of [...all]) {
        waits.push(w.exited)
        busy(w) // keep the process alive until the exit is seen
        kill(w, 'the sandbox pool was closed')
      }
      for (const job of [...pending])
        complete(job, { ok: false, code: 'TOOL_CRASH', error: 'the sandbox pool was closed' })
      // SIGKILL is not refused; the bound only guards against a lost exit event
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.all(waits), new Promise<void>((r) => (timer = setTimeout(r, 5000)))])
      clearTimeout(timer)
    },

    pids(): number[] {
      return [...all].filter((w) => !w.gone && w.child.pid !== undefined).map((w) => w.child.pid as number)
    },
  }
}
