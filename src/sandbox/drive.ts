/**
 * The behaviour test (`mirador plugins check` and `install` run it): the plugin applied in its
 * sandbox and driven through the recorded hook traffic of a realistic run, several times (each with
 * its own run id, so what a plugin does only on its third run shows). Reported: every access its
 * permissions refused (files, programs, network, capabilities, undeclared hooks), every deadline
 * missed or crash, its own errors, and every change to arguments it may not change.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Engine } from '../engine/engine.js'
import { MiradorError } from '../engine/errors.js'
import type { HookName } from '../engine/hooks.js'
import { PACKAGE_ROOT } from '../engine/package-root.js'
import type { LogOptions } from '../engine/types.js'
import { hasContext } from './hook-kinds.js'
import { createSandboxedPlugin, type SandboxSpec } from './index.js'
import type { AccessMessage, ContextData } from './protocol.js'

/** One recorded hook call: the hook's value (its first argument) and its context, as data. */
export interface RecordedCall {
  hook: HookName
  value: unknown
  /** JSON keeps results as [name, result] pairs */
  ctx?: Omit<ContextData, 'results'> & { results?: [string, unknown][] }
}

export interface RecordedHookTraffic {
  description?: string
  calls: RecordedCall[]
}

export interface BehaviourFinding {
  run: number
  kind: AccessMessage['kind'] | 'timeout' | 'crash' | 'memory' | 'error' | 'tampered'
  hook?: string
  detail: string
}

export interface BehaviourReport {
  plugin: string
  runs: number
  calls: number
  /** accesses outside its permissions (files, programs, network, capabilities, undeclared hooks) */
  accesses: BehaviourFinding[]
  /** deadlines missed, crashes, memory limit: the plugin was switched off */
  failures: BehaviourFinding[]
  /** errors its own taps threw */
  errors: BehaviourFinding[]
  /** read-only context fields it changed */
  tampered: BehaviourFinding[]
  /** nothing found */
  clean: boolean
}

/** The recording shipped with Mirador (test/sandbox/record-traffic.ts makes it). */
export function defaultTraffic(): RecordedHookTraffic {
  // beside this module (src/, or dist/ where the build copies it), or dist/sandbox when bundled
  const beside = path.join(path.dirname(fileURLToPath(import.meta.url)), 'recorded-run.json')
  const file = existsSync(beside) ? beside : path.join(PACKAGE_ROOT, 'dist', 'sandbox', 'recorded-run.json')
  return JSON.parse(readFileSync(file, 'utf8')) as RecordedHookTraffic
}

export async function driveSandboxed(
  spec: SandboxSpec,
  traffic: RecordedHookTraffic = defaultTraffic(),
  runs = 3,
): Promise<BehaviourReport> {
  const report: BehaviourReport = {
    plugin: spec.name,
    runs: 0,
    calls: 0,
    accesses: [],
    failures: [],
    errors: [],
    tampered: [],
    clean: true,
  }
  let run = 0
  let hookNow: string | undefined
  const engine = new Engine({ cwd: spec.dir, home: spec.home, offline: true, memory: true, config: {}, env: {} })
  const plugin = createSandboxedPlugin(spec)
  plugin.observe({
    access: (m) =>
      void report.accesses.push({ run, kind: m.kind, ...(hookNow ? { hook: hookNow } : {}), detail: m.detail }),
    tampered: (hook, fields) => void report.tampered.push({ run, kind: 'tampered', hook, detail: fields.join(', ') }),
    tapError: (hook, message) => void report.errors.push({ run, kind: 'error', hook, detail: message }),
  })
  try {
    if (!engine.use(plugin)) {
      const err = engine.pluginErrors[0]
      report.errors.push({ run, kind: 'error', detail: err?.message ?? 'failed while it was applied' })
    } else {
      await plugin.started.catch(() => {})
      for (run = 1; run <= runs; run++) {
        report.runs = run
        const runId = `behaviour-${run}`
        for (const call of traffic.calls) {
          if (plugin.failure) break
          hookNow = call.hook
          report.calls++
          await replay(engine, call, runId)
        }
        if (plugin.failure) break
      }
    }
    const f = plugin.failure
    if (f) {
      const reason = String(f.details?.reason ?? 'crash')
      const kind = reason === 'timeout' || reason === 'memory' ? reason : reason === 'apply' ? 'error' : 'crash'
      report.failures.push({ run: Math.max(1, Math.min(run, runs)), kind, detail: f.message })
    }
  } finally {
    await plugin.stop()
    await engine.dispose()
  }
  report.clean = !report.accesses.length && !report.failures.length && !report.errors.length && !report.tampered.length
  return report
}

/** One recorded call through the engine's hook, with a fresh copy of its data and a live context. */
async function replay(engine: Engine, call: RecordedCall, runId: string): Promise<void> {
  const value = withRunId(structuredClone(call.value), runId)
  if (call.hook === 'event') return void engine.hooks.event.call(value as never)
  const args: unknown[] = [value]
  if (hasContext(call.hook) && call.ctx) args.push(contextOf(call.ctx, runId))
  const hook = engine.hooks[call.hook] as { promise(...a: unknown[]): Promise<unknown> }
  try {
    await hook.promise(...args)
  } catch (err) {
    // an answering hook's MiradorError is an answer, not a finding
    if (!MiradorError.is(err)) throw err
  }
}

function withRunId(value: unknown, runId: string): unknown {
  if (value && typeof value === 'object' && 'runId' in value) (value as { runId: string }).runId = runId
  if (value && typeof value === 'object' && Array.isArray((value as { runIds?: unknown }).runIds)) {
    ;(value as { runIds: string[] }).runIds = [runId]
  }
  return value
}

function contextOf(data: NonNullable<RecordedCall['ctx']>, runId: string): Record<string, unknown> {
  const emit = () => {}
  return {
    ...structuredClone(data),
    runId,
    ...(data.results ? { results: new Map(structuredClone(data.results)) } : {}),
    signal: new AbortController().signal,
    emit,
    log: (_message: string, _options?: LogOptions) => {},
  }
}
