/**
 * The sandbox worker: a Node process (started by the pool with --no-node-snapshot, --no-expose-wasm
 * and, where Node supports it, the permission model: read access to isolated-vm's folder only, no
 * writes, no child processes, no worker threads) that runs one tool call at a time, each in a fresh
 * isolated-vm isolate that is disposed afterwards.
 *
 * `workerMain` is not imported by the worker: the pool sends its source text (with
 * `isolateMain`'s) in the first IPC message and the process evaluates it (see WORKER_BOOTSTRAP),
 * so the same code runs from dist/ and under jest without a build step or a loader. It must use
 * only its parameters and Node's globals.
 *
 * One call:
 *   1. new Isolate({ memoryLimit }) (the worker alone sets isolate options: no inspector, no
 *      snapshot, no cached data), a context, and the trusted wrapper (isolate.ts) in it;
 *   2. compile the tool's source as a module; any import is refused; evaluate it;
 *   3. `run(namespace, argsJson)` in the wrapper; its outcome comes back through the `done`
 *      Callback as one string; capability calls come through the `request` Callback, go to the
 *      parent over IPC, and their answers go back in through the wrapper's `settle`.
 * Every entry into the isolate carries isolated-vm's timeout (what is left of the deadline), and a
 * timer ends the call at the deadline whatever the isolate is doing (a never-settling promise, or
 * isolated-vm stuck reading a booby-trapped thrown value outside any timeout). If the isolate was
 * still busy then, the worker asks to be replaced (`recycle`) and exits; the parent also SIGKILLs it
 * if it does not answer shortly after the deadline.
 */
import type { CapResultMessage, FromWorker, RunMessage, ToWorker } from './protocol.js'
import type { DoneFn, IsolateConfig, RequestFn } from './isolate.js'

/** what `node -e` runs: waits for the boot message, then runs the program it carries */
export const WORKER_BOOTSTRAP =
  '/* mirador: tool sandbox worker */ ' +
  "process.once('message', (m) => { new Function('require', 'boot', m.program)(require, m) })"

interface Boot {
  ivmPath: string
  isolateSource: string
}

export function workerMain(require: (id: string) => unknown, boot: Boot): void {
  const ivm = require(boot.ivmPath) as typeof import('isolated-vm')

  interface Run {
    id: number
    deadline: number
    finished: boolean
    /** isolated-vm operations in flight (the isolate may be busy) */
    busy: number
    timer?: NodeJS.Timeout
    isolate?: import('isolated-vm').Isolate
    settle?: import('isolated-vm').Reference<unknown>
    memoryMb: number
    timeoutMs: number
  }

  let current: Run | undefined
  const HARD_DEADLINE_MARGIN_MS = 30

  const send = (msg: FromWorker): void => {
    try {
      process.send?.(msg)
    } catch {
      process.exit(0) // the parent is gone
    }
  }
  const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s)
  const remaining = (run: Run): number => Math.max(1, Math.ceil(run.deadline - Date.now()))

  function finish(
    run: Run,
    result:
      | { ok: true; json: string }
      | {
          ok: false
          code: 'TOOL_TIMEOUT' | 'TOOL_MEMORY' | 'TOOL_OUTPUT' | 'TOOL_FAILED' | 'TOOL_CRASH'
          error: string
        },
    recycle = false,
  ): void {
    if (run.finished) return
    run.finished = true
    if (run.timer) clearTimeout(run.timer)
    if (current === run) current = undefined
    send({ t: 'result', id: run.id, recycle, ...result })
    // not now: `finish` may be running inside a Callback the isolate is waiting on
    setImmediate(() => {
      try {
        run.settle?.release()
      } catch {
        /* released with the isolate */
      }
      try {
        if (run.isolate && !run.isolate.isDisposed) run.isolate.dispose()
      } catch {
        /* already disposed */
      }
      if (recycle) process.exit(0)
    })
  }

  /** An error from isolated-vm (its copies are plain errors of this realm: strings only). */
  function fromError(run: Run, err: unknown): void {
    if (run.finished) return
    const e = err as { name?: unknown; message?: unknown } | null
    const message = e && typeof e.message === 'string' ? e.message : 'unknown error'
    const name = e && typeof e.name === 'string' ? e.name : 'Error'
    // isolated-vm's own errors are told apart from a tool's error that merely says the same thing
    // (a top-level throw is copied out by isolated-vm like its own errors): by their effects
    const disposed = run.isolate?.isDisposed === true
    if (disposed && /memory limit/.test(message)) {
      finish(run, {
        ok: false,
        code: 'TOOL_MEMORY',
        error: `the tool used more than its memory limit of ${run.memoryMb} MB`,
      })
    } else if (message === 'Script execution timed out.' && Date.now() >= run.deadline - 10) {
      finish(run, { ok: false, code: 'TOOL_TIMEOUT', error: `the tool ran past its time limit of ${run.timeoutMs} ms` })
    } else if (disposed) {
      finish(run, { ok: false, code: 'TOOL_CRASH', error: 'the isolate was disposed' }, true)
    } else {
      finish(run, { ok: false, code: 'TOOL_FAILED', error: clip(`${name}: ${message}`, 500) })
    }
  }

  async function enter<T>(run: Run, p: Promise<T>): Promise<T> {
    run.busy++
    try {
      return await p
    } finally {
      run.busy--
    }
  }

  const onDone =
    (run: Run): DoneFn =>
    (text) => {
      if (run.finished || typeof text !== 'string' || text.length === 0) return
      const body = text.slice(1)
      switch (text[0]) {
        case 'V':
          return finish(run, { ok: true, json: body })
        case 'O':
          return finish(run, { ok: false, code: 'TOOL_OUTPUT', error: body })
        case 'M':
          return finish(run, {
            ok: false,
            code: 'TOOL_MEMORY',
            error: `the tool used more than its memory limit of ${run.memoryMb} MB (${body})`,
          })
        default:
          return finish(run, { ok: false, code: 'TOOL_FAILED', error: body })
      }
    }

  const onRequest =
    (run: Run, maxArgChars: number): RequestFn =>
    (callId, name, args) => {
      if (run.finished) return 'the tool call has ended'
      if (typeof callId !== 'number' || typeof name !== 'string' || typeof args !== 'string')
        return 'bad capability call'
      if (name.length > 200 || args.length > maxArgChars) return 'capability call too large'
      send({ t: 'cap', id: run.id, callId, name, args })
      return ''
    }

  async function start(m: RunMessage): Promise<void> {
    const run: Run = {
      id: m.id,
      deadline: Date.now() + m.timeoutMs,
      finished: false,
      busy: 0,
      memoryMb: m.memoryMb,
      timeoutMs: m.timeoutMs,
    }
    if (current) {
      send({
        t: 'result',
        id: m.id,
        recycle: true,
        ok: false,
        code: 'TOOL_CRASH',
        error: 'the sandbox worker was busy',
      })
      return
    }
    current = run
    // isolated-vm's own timeouts end at the deadline and leave the isolate clean; this timer, a little
    // later, ends calls that are waiting (a promise that never settles) or stuck where no timeout applies
    run.timer = setTimeout(
      () =>
        finish(
          run,
          { ok: false, code: 'TOOL_TIMEOUT', error: `the tool ran past its time limit of ${m.timeoutMs} ms` },
          run.busy > 0,
        ),
      m.timeoutMs + HARD_DEADLINE_MARGIN_MS,
    )
    try {
      // the worker alone chooses the isolate's options: never inspector, snapshot or cached data
      const isolate = new ivm.Isolate({
        memoryLimit: m.memoryMb,
        inspector: false,
        onCatastrophicError: () => process.kill(process.pid, 'SIGKILL'),
      })
      run.isolate = isolate
      const context = await enter(run, isolate.createContext({ inspector: false }))
      const config: IsolateConfig = {
        granted: m.capabilities,
        maxOutputChars: m.maxOutputBytes,
        maxCallArgChars: m.maxCallArgBytes,
        maxCalls: m.maxCalls,
        maxInFlight: m.maxInFlight,
      }
      const done = new ivm.Callback(onDone(run))
      const request = new ivm.Callback(onRequest(run, m.maxCallArgBytes))
      const api = (await enter(
        run,
        context.evalClosure(
          `${boot.isolateSource}; return isolateMain($0, $1, $2)`,
          [done, request, JSON.stringify(config)],
          { timeout: remaining(run), result: { reference: true } },
        ),
      )) as import('isolated-vm').Reference<unknown>
      if (run.finished) return
      const runFn = (await enter(
        run,
        api.get('run' as never, { reference: true }),
      )) as import('isolated-vm').Reference<unknown>
      run.settle = (await enter(
        run,
        api.get('settle' as never, { reference: true }),
      )) as import('isolated-vm').Reference<unknown>
      api.release()
      if (run.finished) return
      const mod = await enter(run, isolate.compileModule(m.source, { filename: m.filename }))
      const deps = mod.dependencySpecifiers
      if (deps.length > 0) {
        finish(run, {
          ok: false,
          code: 'TOOL_FAILED',
          error: `a tool cannot import modules (it imports "${clip(String(deps[0]), 100)}")`,
        })
        return
      }
      await enter(
        run,
        mod.instantiate(context, (specifier) => {
          throw new Error(`a tool cannot import modules ("${clip(String(specifier), 100)}")`)
        }),
      )
      if (run.finished) return
      // the module's top-level code runs here, under the timeout
      await enter(run, mod.evaluate({ timeout: remaining(run) }))
      if (run.finished) return
      await enter(run, runFn.apply(undefined, [mod.namespace.derefInto(), m.args], { timeout: remaining(run) }))
      // the outcome arrives through `done` (now, or after capability calls and timers of promises)
    } catch (err) {
      fromError(run, err)
    }
  }

  function capResult(m: CapResultMessage): void {
    const run = current
    if (!run || run.id !== m.id || run.finished || !run.settle) return
    const settle = run.settle
    enter(
      run,
      settle.apply(undefined, [m.callId, m.ok === true, String(m.payload)], { timeout: remaining(run) }),
    ).catch((err: unknown) => fromError(run, err))
  }

  process.on('message', (m: ToWorker) => {
    if (!m || typeof m !== 'object') return
    if (m.t === 'run') void start(m)
    else if (m.t === 'capResult') capResult(m)
  })
  process.on('disconnect', () => process.exit(0))
  send({ t: 'ready' })
}
