/**
 * Mirador's side of one plugin host: starts the process (in its own network namespace when the
 * system allows), sends calls with a deadline, and watches it. A host that misses a deadline, dies
 * or grows past its memory limit is killed once and every call waiting on it fails with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { PACKAGE_ROOT } from '../engine/package-root.js'
import type { Namespace } from './network.js'
import type { FromHost, ReadyMessage, ResultMessage, ToHost } from './protocol.js'

/**
 * The host's entry, bundled on its own by scripts/bundle.js. Found from the package root, not from
 * this module: this module runs compiled (dist/sandbox/), from source, and inside the CLI's bundle
 * (dist/mirador.js), and only the root is the same in all three.
 */
export function hostEntry(): string {
  return path.join(PACKAGE_ROOT, 'dist', 'sandbox', 'host.js')
}

export interface HostOptions {
  plugin: string
  execArgv: string[]
  env: Record<string, string>
  namespace?: Namespace
  memoryMb: number
  /** messages other than results: emits, requests, refused accesses */
  onMessage: (m: Exclude<FromHost, ResultMessage | ReadyMessage>) => void
  /** called once, when the host is stopped for a reason (not by stop()) */
  onFailure: (err: MiradorError) => void
}

interface Pending {
  resolve: (m: ResultMessage) => void
  reject: (e: MiradorError) => void
  timer?: NodeJS.Timeout
}

/** How often the resident memory of a host is checked (buffers are outside V8's heap limit). */
const RSS_EVERY_MS = 100

export class HostProcess {
  readonly child: ChildProcess
  readonly ready: Promise<ReadyMessage>
  readonly exited: Promise<void>
  #pending = new Map<number, Pending>()
  #next = 1
  #failure?: MiradorError
  #stopping = false
  #stderr = ''
  #rss?: NodeJS.Timeout
  #isReady = false

  constructor(readonly opts: HostOptions) {
    const node = [...opts.execArgv, hostEntry()]
    const [command, args] = opts.namespace
      ? [opts.namespace.command, [...opts.namespace.flags, process.execPath, ...node]]
      : [process.execPath, node]
    this.child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      env: opts.env,
      cwd: path.parse(process.cwd()).root,
    })
    // a host never keeps Mirador alive: a waiting call's deadline timer does, while it waits
    this.child.unref()
    ;(this.child.stderr as Socket | null)?.unref()
    this.child.stderr?.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-4096)))
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()))
    let readyWith: (m: ReadyMessage) => void = () => {}
    let readyFail: (e: MiradorError) => void = () => {}
    this.ready = new Promise((resolve, reject) => ((readyWith = resolve), (readyFail = reject)))
    this.ready.catch(() => {})
    this.#pending.set(0, { resolve: () => {}, reject: readyFail })
    this.child.on('message', (m: FromHost) => {
      if (m?.t === 'ready') {
        this.#isReady = true
        this.#pending.delete(0)
        return readyWith(m)
      }
      if (m?.t === 'result') return this.#settle(m)
      if (m?.t === 'emit' || m?.t === 'request' || m?.t === 'access') opts.onMessage(m)
    })
    this.child.on('error', (err) => this.fail('crashed', `it could not start: ${err.message}`))
    this.child.on('exit', (code, signal) => this.#exited(code, signal))
    this.#unrefChannel()
    this.#rss = setInterval(() => this.#checkMemory(), RSS_EVERY_MS)
    this.#rss.unref()
  }

  #unrefChannel(): void {
    const channel = this.child.channel as { unref?: () => void } | undefined
    channel?.unref?.()
  }

  send(message: ToHost): void {
    if (this.#failure || !this.child.connected) return
    try {
      this.child.send(message)
    } catch (err) {
      this.fail('crashed', `a message to it failed: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  /** Sends a call and waits for its result, at most deadlineMs (then the host is killed). */
  call(message: Extract<ToHost, { id: number }>, deadlineMs: number, what: string): Promise<ResultMessage> {
    if (this.#failure) return Promise.reject(this.#failure)
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject }
      pending.timer = setTimeout(
        () => this.fail('timeout', `its ${what} did not answer within its ${deadlineMs} ms deadline`),
        deadlineMs,
      )
      this.#pending.set(message.id, pending)
      this.send(message)
    })
  }

  nextId(): number {
    return this.#next++
  }

  #settle(m: ResultMessage): void {
    const p = this.#pending.get(m.id)
    if (!p || m.id === 0) return
    this.#pending.delete(m.id)
    clearTimeout(p.timer)
    p.resolve(m)
  }

  get failure(): MiradorError | undefined {
    return this.#failure
  }

  /** Kills the host for a reason; every waiting call fails with it, and onFailure hears it once. */
  fail(
    kind: 'timeout' | 'crashed' | 'memory' | 'apply',
    why: string,
    as?: Pick<MiradorError, 'code' | 'details'>,
  ): void {
    if (this.#failure || this.#stopping) return
    const reason = {
      timeout: 'it was stopped',
      apply: 'it was stopped',
      crashed: 'its host process ended',
      memory: `it went over its ${this.opts.memoryMb} MB memory limit`,
    }[kind]
    // `as`: what the plugin did wrong has its own code (PLUGIN_UNDECLARED), the sandbox's failures PLUGIN_SANDBOX
    this.#failure = new MiradorError(
      as?.code ?? 'PLUGIN_SANDBOX',
      `sandboxed plugin ${this.opts.plugin}: ${why}; ${reason}, and it is switched off until Mirador restarts`,
      { details: { ...as?.details, plugin: this.opts.plugin, reason: kind } },
    )
    this.#kill()
    this.#rejectAll(this.#failure)
    this.opts.onFailure(this.#failure)
  }

  #rejectAll(err: MiradorError): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer)
      p.reject(err)
    }
    this.#pending.clear()
  }

  #exited(code: number | null, signal: NodeJS.Signals | null): void {
    clearInterval(this.#rss)
    if (this.#stopping) return this.#rejectAll(stopped(this.opts.plugin))
    const oom = /heap out of memory|Allocation failed/i.test(this.#stderr)
    const how = signal ? `signal ${signal}` : `exit code ${code}`
    if (oom) return this.fail('memory', `its heap ran out (${how})`)
    // during start-up nothing else says why: the host's last words do (a plugin's own output later is its own)
    const why = this.#isReady ? '' : exitReason(this.#stderr)
    this.fail('crashed', `its host process exited (${how}${why ? `: ${why}` : ''})`)
  }

  #checkMemory(): void {
    const pid = this.child.pid
    if (!pid || process.platform !== 'linux') return
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
      // V8's limit covers the heap; this covers the rest (buffers), above Node's own footprint
      if (kb / 1024 > this.opts.memoryMb * 1.5 + 96) this.fail('memory', `it used ${Math.round(kb / 1024)} MB`)
    } catch {
      // the process just ended
    }
  }

  #kill(): void {
    clearInterval(this.#rss)
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }

  /** Stops the host (no report). */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#kill()
    this.#rejectAll(stopped(this.opts.plugin))
    if (this.child.pid === undefined) return
    // waited for: the unref'd child must keep Mirador alive until it is gone
    this.child.ref()
    await this.exited
  }

  /** Synchronous, for process exit. */
  killNow(): void {
    this.#stopping = true
    this.#kill()
  }
}

/**
 * Why a process ended, from its last output: the last `Error: ...` line Node prints for an uncaught
 * error (its stack and the `Node.js v20` line after it say nothing), else the last line of text.
 */
export function exitReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Node\.js v\d/.test(l) && !l.startsWith('at '))
  const line = lines.findLast((l) => /^[\w$.]*(Error|Exception)( \[\w+\])?: /.test(l)) ?? lines.at(-1) ?? ''
  return line.length > 300 ? `${line.slice(0, 297)}...` : line
}

function stopped(plugin: string): MiradorError {
  return new MiradorError('PLUGIN_SANDBOX', `sandboxed plugin ${plugin} was stopped`, { details: { plugin } })
}
