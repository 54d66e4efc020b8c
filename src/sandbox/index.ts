/**
 * Sandboxed plugins: a third-party plugin not marked `trusted: true` runs in a host process of its
 * own (host-main.ts) with exactly the permissions its package.json declares. In Mirador it is a
 * plugin like any other, whose taps are proxies: each declared hook is tapped once, under the
 * plugin's name, and forwards its arguments as data (hook-data.ts) with a deadline. A host that
 * misses a deadline, crashes, runs out of memory or throws while it is applied is killed, reported
 * once in a run (PLUGIN_SANDBOX, by name) and switched off; the run answers without it.
 */
import { pathToFileURL } from 'node:url'
import path from 'node:path'
import type { PluginManifest, PluginPermissions } from '../engine/config/types.gen.js'
import type { PluginHost } from '../engine/engine.js'
import { MiradorError } from '../engine/errors.js'
import { CORE_EVENT_TYPES } from '../engine/events.js'
import type { HookName } from '../engine/hooks.js'
import { PACKAGE_ROOT } from '../engine/package-root.js'
import { API_VERSION, type MiradorPlugin } from '../engine/plugins.js'
import type { RunContext } from '../engine/types.js'
import { contextData, isContext, toData } from './hook-data.js'
import { HOOK_KINDS, hasContext } from './hook-kinds.js'
import { HostProcess } from './host-process.js'
import { namespace, proxiedFetch } from './network.js'
import { hostCommand } from './permissions.js'
import { refuseUnsafeStart } from './start-checks.js'
import { applyChanges, resultValue } from './tap-results.js'
import type { AccessMessage, FetchRequest, FromHost, HostCommandCall, ResultMessage } from './protocol.js'

export { networkBarrier, type NetworkBarrier } from './network.js'

/** A tap's deadline unless the spec says otherwise: long enough for real work, short enough to wait for. */
export const DEFAULT_DEADLINE_MS = 2000
/** How long a host may take to start and apply its plugin (loading its modules included). */
export const START_DEADLINE_MS = 15000
export const DEFAULT_MEMORY_MB = 128
/** A plugin's command (`mirador NAME`) is waited for this long: a user is there to press Ctrl-C sooner. */
export const COMMAND_DEADLINE_MS = 10 * 60_000

export interface SandboxSpec {
  name: string
  entryFile: string
  dir: string
  manifest: PluginManifest & { permissions?: PluginPermissions }
  options: unknown
  home: string
  deadlineMs?: number
  memoryMb?: number
  /** false: no network namespace even where the system offers one (the JS barrier alone) */
  namespace?: boolean
}

/** What the sandbox saw a plugin try and what it did to its arguments (read by the behaviour test). */
export interface SandboxObserver {
  access?(m: AccessMessage): void
  tampered?(hook: HookName, fields: string[]): void
  /** a tap of the plugin threw (the engine reports it in the run as well) */
  tapError?(hook: HookName, message: string): void
}

export type SandboxedPlugin = MiradorPlugin & {
  stop(): Promise<void>
  /** the host's process id once started (tests check it is gone) */
  readonly pid: number | undefined
  /** the reason it was switched off, if it was */
  readonly failure: MiradorError | undefined
  /** resolves when the host has applied the plugin (rejects if it could not) */
  readonly started: Promise<void>
  observe(observer: SandboxObserver): void
  /**
   * Runs one of the plugin's commands in its host once it started (src/cli/plugin-commands): `out`
   * hears each `output` event it writes; resolves with the host's result, rejects with its failure.
   */
  command(
    call: Omit<HostCommandCall, 't' | 'id'>,
    out: (event: Record<string, unknown>) => void,
  ): Promise<ResultMessage>
}

/** Events only the engine emits; `log` is allowed, under the plugin's own name. */
const ENGINE_EVENTS = new Set<string>(CORE_EVENT_TYPES.filter((t) => t !== 'log'))

const live = new Set<HostProcess>()
let exitHooked = false

/** No host outlives Mirador: killed on exit (they also exit when its IPC channel closes). */
function killOnExit(): void {
  if (exitHooked) return
  exitHooked = true
  process.once('exit', () => {
    for (const h of live) h.killNow()
  })
}

/** The runs a host's late emits belong to (an emit after its tap returned), newest last. */
const RECENT_RUNS = 16

export function createSandboxedPlugin(spec: SandboxSpec): SandboxedPlugin {
  const name = spec.name
  const manifest = spec.manifest
  const permissions: PluginPermissions = manifest.permissions ?? {}
  const deadlineMs = spec.deadlineMs ?? DEFAULT_DEADLINE_MS
  const memoryMb = spec.memoryMb ?? DEFAULT_MEMORY_MB
  const declaredHooks = [...new Set(manifest.hooks)] as HookName[]
  let host: HostProcess | undefined
  let startedWith: (v: void) => void = () => {}
  let startFailed: (e: MiradorError) => void = () => {}
  const started = new Promise<void>((resolve, reject) => ((startedWith = resolve), (startFailed = reject)))
  started.catch(() => {})
  let failure: MiradorError | undefined
  let reported = false
  let tapped = new Set<HookName>(declaredHooks)
  const contexts = new Map<number, RunContext>()
  const runs = new Map<string, RunContext>()
  const observers: SandboxObserver[] = []
  /** commands running, by call id: where their output goes */
  const outputs = new Map<number, (event: Record<string, unknown>) => void>()
  let engineRef: PluginHost | undefined
  /** stop() came before the host was started: it never starts */
  let stopping = false

  const switchOff = (err: MiradorError) => {
    failure ??= err
    startFailed(err)
    if (host) live.delete(host)
  }

  /** Reports the failure once, in the run the context belongs to. */
  const reportIn = (ctx: RunContext | undefined): void => {
    if (!failure || reported || !ctx) return
    reported = true
    ctx.emit({ type: 'error', code: failure.code, message: failure.message, plugin: name })
  }

  let warned = false
  /** An attempt the sandbox refused: told to observers, and to the user once (the first, in the run at hand). */
  const refused = (kind: AccessMessage['kind'], detail: string): void => {
    for (const o of observers) o.access?.({ t: 'access', kind, detail })
    const ctx = contexts.values().next().value ?? [...runs.values()].at(-1)
    if (warned || !ctx) return
    warned = true
    ctx.emit({
      type: 'log',
      level: 'warn',
      code: 'PLUGIN_SANDBOX',
      plugin: name,
      message:
        `the sandbox refused plugin ${name} an access outside its permissions (${kind}: ${detail}); ` +
        'later ones are not shown',
    })
  }

  const onMessage = (m: Exclude<FromHost, ResultMessage | { t: 'ready' }>): void => {
    if (m.t === 'emit' && outputs.has(m.call)) return outputs.get(m.call)?.(m.event)
    if (m.t === 'access') refused(m.kind, m.detail)
    else if (m.t === 'emit') emitFrom(m.call, m.runId, m.event)
    else if (m.t === 'request') void answer(m.id, m.kind, m.name, m.args)
  }

  const emitFrom = (call: number, runId: string, event: Record<string, unknown>) => {
    const ctx = contexts.get(call) ?? runs.get(runId)
    if (!ctx || typeof event?.type !== 'string') return
    if (ENGINE_EVENTS.has(event.type)) {
      // the run's own events (tokens, done, errors) are the engine's to tell: a plugin's would forge them
      refused('hook', `emit ${event.type}`)
      return
    }
    if (event.type === 'log') {
      const { level, message, stage } = event
      const line = { type: 'log' as const, level: level === 'warn' ? ('warn' as const) : ('info' as const) }
      ctx.emit({ ...line, message: String(message), plugin: name, ...(typeof stage === 'string' ? { stage } : {}) })
      return
    }
    ctx.emit(event as Parameters<RunContext['emit']>[0])
  }

  const answer = async (id: number, kind: string, capName?: string, args?: unknown) => {
    try {
      let value: unknown
      if (kind === 'capability') value = await callCapability(capName ?? '', args)
      else if (kind === 'chains') value = toData(await engineRef?.chains())
      else if (kind === 'fetch') {
        const signal = AbortSignal.timeout(Math.max(deadlineMs, 30000))
        value = await proxiedFetch(name, args as FetchRequest, permissions.network ?? [], signal)
      } else throw new MiradorError('PLUGIN_SANDBOX', `unknown request ${kind}`)
      host?.send({ t: 'reply', id, ok: true, value })
    } catch (err) {
      const e = MiradorError.from(err, 'PLUGIN_SANDBOX')
      if (kind === 'fetch' && e.code === 'PLUGIN_SANDBOX') {
        refused('network', e.message)
      }
      host?.send({ t: 'reply', id, ok: false, error: { code: e.code, message: e.message } })
    }
  }

  const callCapability = async (capName: string, args: unknown) => {
    if (!(manifest.capabilities ?? []).includes(capName)) {
      refused('capability', capName)
      throw new MiradorError('PLUGIN_SANDBOX', `plugin ${name} may not call capability ${capName}: not declared`)
    }
    const fn = engineRef?.capability(capName)
    if (!fn) throw new MiradorError('PLUGIN_SANDBOX', `no plugin provides capability ${capName}`)
    return toData(await fn(args))
  }

  const start = async (engine: PluginHost) => {
    const ns = spec.namespace === false ? undefined : await namespace()
    const { reads, ...command } = hostCommand({ dir: spec.dir, permissions, memoryMb, env: engine.settings.env })
    await refuseUnsafeStart(name, spec.dir, spec.home, reads)
    if (stopping) throw new MiradorError('PLUGIN_SANDBOX', `plugin ${name} was stopped`, { details: { plugin: name } })
    host = new HostProcess({
      plugin: name,
      ...command,
      ...(ns ? { namespace: ns } : {}),
      memoryMb,
      onMessage,
      onFailure: switchOff,
    })
    live.add(host)
    host.send({
      t: 'init',
      name,
      entryFile: spec.entryFile,
      options: toData(spec.options),
      hooks: declaredHooks,
      capabilities: manifest.capabilities ?? [],
      provides: manifest.provides ?? [],
      templateVars: manifest.templateVars ?? [],
      stageKeys: manifest.stageKeys ?? {},
      apiUrl: pathToFileURL(path.join(PACKAGE_ROOT, 'packages', 'plugin-api', 'index.js')).href,
      settings: {
        cwd: engine.settings.cwd,
        home: spec.home,
        offline: engine.settings.offline,
        memory: engine.settings.memory,
        env: command.env,
        flags: {},
        config: {},
      },
    })
    const timer = setTimeout(
      () => host?.fail('timeout', `it did not start within ${START_DEADLINE_MS} ms`),
      START_DEADLINE_MS,
    )
    try {
      const ready = await host.ready
      if (ready.error) {
        const { code, details } = ready.error
        host.fail('apply', `it failed while it was applied: ${ready.error.message}`, {
          code: code === 'PLUGIN_UNDECLARED' ? code : 'PLUGIN_SANDBOX',
          ...(details ? { details } : {}),
        })
        return
      }
      tapped = new Set(ready.tapped)
      startedWith()
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends one tap's call; rejects with the host's failure, resolves with its result. */
  const send = async (hook: HookName, args: unknown[]): Promise<ResultMessage | undefined> => {
    await started
    if (failure || !host || !tapped.has(hook)) return undefined
    const ctx = hasContext(hook) && isContext(args[1]) ? (args[1] as RunContext) : undefined
    const id = host.nextId()
    if (ctx) {
      contexts.set(id, ctx)
      runs.delete(ctx.runId)
      runs.set(ctx.runId, ctx)
      if (runs.size > RECENT_RUNS) runs.delete(runs.keys().next().value as string)
    }
    const onAbort = () => host?.send({ t: 'abort', id })
    ctx?.signal.addEventListener('abort', onAbort, { once: true })
    try {
      const answer = host.call(
        { t: 'call', id, hook, args: [toData(args[0])], ...(ctx ? { ctx: contextData(ctx) } : {}) },
        deadlineMs,
        `${hook} tap`,
      )
      // cancelled while the host was starting: the tap hears it at once
      if (ctx?.signal.aborted) onAbort()
      const result = await answer
      if (result.tampered) for (const o of observers) o.tampered?.(hook, result.tampered)
      return result
    } finally {
      contexts.delete(id)
      ctx?.signal.removeEventListener('abort', onAbort)
    }
  }

  /** A proxied tap: the host's answer, or the hook's neutral answer when the host failed. */
  const proxy = async (hook: HookName, args: unknown[]): Promise<unknown> => {
    const ctx = isContext(args[1]) ? (args[1] as RunContext) : undefined
    const neutral = HOOK_KINDS[hook] === 'waterfall' ? args[0] : undefined
    let result: ResultMessage | undefined
    try {
      result = await send(hook, args)
    } catch (err) {
      switchOff(MiradorError.from(err, 'PLUGIN_SANDBOX'))
    }
    if (failure) {
      reportIn(ctx)
      return neutral
    }
    if (!result) return neutral
    if (!result.ok) {
      for (const o of observers) o.tapError?.(hook, result.error?.message ?? 'failed')
      // the plugin's own error in a tap: the engine reports it by name, as for an in-process plugin (a
      // plain Error on an answering hook, so that it is not taken for the answer); an undeclared
      // capability it called keeps its code, as in process
      const { code, message = 'failed', details } = result.error ?? {}
      if (code === 'PLUGIN_UNDECLARED' && HOOK_KINDS[hook] !== 'bail') {
        throw new MiradorError(code, message, { details: { ...details, plugin: name } })
      }
      throw new Error(message)
    }
    applyChanges(hook, args, result)
    return resultValue(hook, result.value, neutral, () => engineRef?.chains())
  }

  /** An `event` tap: fire and forget (the host's answer only clears the deadline). */
  const onEvent = (event: unknown): void => {
    if (failure) {
      if (reported || typeof (event as { runId?: unknown })?.runId !== 'string') return
      reported = true
      // no context here: the engine reports what an event tap throws, in the event's run
      throw failure
    }
    if (!tapped.has('event')) return
    void send('event', [event]).catch((err: unknown) => switchOff(MiradorError.from(err, 'PLUGIN_SANDBOX')))
  }

  const plugin: SandboxedPlugin = {
    name,
    apiVersion: API_VERSION,
    apply(engine: PluginHost) {
      if (declaredHooks.includes('model')) {
        throw new MiradorError(
          'PLUGIN_SANDBOX',
          `plugin ${name} taps the model hook, which hands out a live model: a sandboxed plugin cannot. ` +
            'Mark it trusted: true in the config if you trust it to run in process.',
          { details: { plugin: name } },
        )
      }
      engineRef = engine
      if (manifest.templateVars?.length) engine.registerTemplateVars(manifest.templateVars)
      if (manifest.stageKeys && Object.keys(manifest.stageKeys).length) engine.registerStageKeys(manifest.stageKeys)
      for (const hook of declaredHooks) {
        if (hook === 'event') engine.hooks.event.tap(name, onEvent)
        else {
          const h = engine.hooks[hook] as { tapPromise(name: string, fn: (...a: unknown[]) => Promise<unknown>): void }
          h.tapPromise(name, (...args: unknown[]) => proxy(hook, args))
        }
      }
      for (const cap of manifest.provides ?? []) {
        engine.registerCapability(cap, async (args) => {
          await started
          if (failure || !host) throw failure ?? new MiradorError('PLUGIN_SANDBOX', `plugin ${name} is not running`)
          const id = host.nextId()
          const r = await host.call({ t: 'capability', id, name: cap, args: toData(args) }, deadlineMs, cap)
          if (!r.ok) throw new MiradorError('PLUGIN_FAILED', `${cap}: ${r.error?.message ?? 'failed'}`)
          return r.value
        })
      }
      killOnExit()
      start(engine).catch((err: unknown) => switchOff(MiradorError.from(err, 'PLUGIN_SANDBOX')))
    },
    async stop() {
      stopping = true
      const h = host
      if (!h) return
      live.delete(h)
      await h.stop()
    },
    get pid() {
      return host?.child.pid
    },
    get failure() {
      return failure
    },
    started,
    observe(observer) {
      observers.push(observer)
    },
    async command(call, out) {
      await started
      if (failure || !host) throw failure ?? new MiradorError('PLUGIN_SANDBOX', `plugin ${name} is not running`)
      const id = host.nextId()
      outputs.set(id, out)
      try {
        return await host.call({ t: 'command', id, ...call }, COMMAND_DEADLINE_MS, `command (${call.run})`)
      } finally {
        outputs.delete(id)
      }
    },
  }
  return plugin
}
