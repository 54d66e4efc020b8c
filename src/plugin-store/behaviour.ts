/**
 * The sandbox behaviour test of `plugins check` and `install`: the plugin applied in its sandbox
 * (src/sandbox, `driveSandboxed`) with no options and driven through the recorded hook traffic of
 * a realistic run three times, so what it does only on its third run shows. What the sandbox saw
 * becomes findings of the check, with no file (it is what the plugin did, not where it is written):
 * what the sandbox refused, what timed out, crashed or ran out of memory, and arguments it changed
 * that it may not change are errors (the plugin is refused); errors its own taps threw, and a
 * plugin that could not be started with no options, are warnings.
 */
import type { Severity } from '../lib/static-analysis/index.js'
import type { LoadedPluginManifest } from './manifest.js'

/** How many times the recorded run is replayed: a plugin's third run is one a time bomb waits for. */
export const BEHAVIOUR_RUNS = 3

export type BehaviourRule =
  | 'sandbox-timeout'
  | 'sandbox-crash'
  | 'sandbox-memory'
  | 'sandbox-denied'
  | 'undeclared-hook'
  | 'undeclared-capability'
  | 'tampered-arguments'
  | 'sandbox-start'
  | 'plugin-error'

/** A finding of the behaviour test: what the plugin did, on which run (the first time), in which tap. */
export interface BehaviourFinding {
  rule: BehaviourRule
  severity: Severity
  message: string
  /** never covered by a permission: what is declared was not refused */
  declared: false
  /** the replayed run it first happened on (1-based) */
  run: number
  hook?: string
}

export interface BehaviourReport {
  available: boolean
  /** why it did not run, when it did not */
  note?: string
  /** runs replayed and hook calls made (fewer than planned when the plugin was switched off) */
  runs: number
  calls: number
  /** what it found (also in the check's findings) */
  findings: BehaviourFinding[]
}

const RULE_OF_ACCESS: Record<string, BehaviourRule> = { hook: 'undeclared-hook', capability: 'undeclared-capability' }

const RULE_OF_FAILURE: Record<string, BehaviourRule> = {
  timeout: 'sandbox-timeout',
  memory: 'sandbox-memory',
  crash: 'sandbox-crash',
  error: 'sandbox-start',
}

/** Run 0 is while the plugin was applied, before any traffic. */
const where = (run: number, hook: string | undefined) =>
  run < 1 ? 'while it was applied' : `run ${run}${hook ? `, ${hook} tap` : ''}`

/** A refused access as a phrase; a refusal Node gives no detail for is still named as one. */
function refusedText(kind: string, detail: string): string {
  if (kind === 'internal' && (detail === '' || detail === 'access'))
    return 'the sandbox refused access to a Node internal'
  return `the sandbox refused ${kind}: ${detail}`
}

/**
 * The plugin in `loaded`, driven in its sandbox; `home` is the $MIRADOR_HOME it is shown. Its host
 * reads its dependencies where Node finds them (a staged install's node_modules too: sandbox/dependencies.ts).
 */
export async function behaviourTest(loaded: LoadedPluginManifest, home: string): Promise<BehaviourReport> {
  const { resolvePluginEntry } = await import('../engine/plugin-resolve.js')
  let entryFile: string
  try {
    entryFile = resolvePluginEntry(loaded.dir, loaded.dir)
  } catch (err) {
    const message = `the plugin's entry was not found, so it was not run: ${(err as Error).message}`
    return { available: true, runs: 0, calls: 0, findings: [startFinding(message)] }
  }
  // the sandbox (and its host process) loads only when a check runs
  const { driveSandboxed, defaultTraffic } = await import('../sandbox/drive.js')
  const spec = { name: loaded.name, entryFile, dir: loaded.dir, manifest: loaded.manifest, options: {}, home }
  const r = await driveSandboxed(spec, defaultTraffic(), BEHAVIOUR_RUNS)
  const findings: BehaviourFinding[] = []
  const seen = new Set<string>()
  /** one finding per thing done, at its first run: a plugin that reads a key on every prompt reads it once here */
  const add = (rule: BehaviourRule, severity: Severity, run: number, hook: string | undefined, what: string) => {
    const key = `${rule}\0${hook ?? ''}\0${what}`
    if (seen.has(key)) return
    seen.add(key)
    findings.push({
      rule,
      severity,
      message: `${what} (${where(run, hook)})`,
      declared: false,
      run,
      ...(hook ? { hook } : {}),
    })
  }
  for (const a of r.accesses) {
    const rule = RULE_OF_ACCESS[a.kind] ?? 'sandbox-denied'
    const what =
      rule === 'undeclared-hook'
        ? `taps the ${a.detail} hook, which its manifest does not declare`
        : rule === 'undeclared-capability'
          ? `calls the capability ${a.detail}, which its manifest does not declare`
          : refusedText(a.kind, a.detail)
    add(rule, 'error', a.run, a.hook, what)
  }
  for (const f of r.failures) {
    const rule = RULE_OF_FAILURE[f.kind] ?? 'sandbox-crash'
    // a start refused because of an undeclared hook is that finding already
    if (rule === 'sandbox-start' && findings.some((x) => x.rule === 'undeclared-hook')) continue
    if (rule === 'sandbox-start') add(rule, 'warning', 0, undefined, f.detail)
    else add(rule, 'error', f.run, f.hook, f.detail)
  }
  for (const t of r.tampered) add('tampered-arguments', 'error', t.run, t.hook, `changed ${t.detail}, which it may not`)
  // a tap that threw where an access was refused threw the refusal, which is its finding already
  const refusedIn = new Set(r.accesses.map((a) => `${a.run}\0${a.hook ?? ''}`))
  for (const e of r.errors) {
    if (refusedIn.has(`${e.run}\0${e.hook ?? ''}`)) continue
    add('plugin-error', 'warning', e.run, e.hook, `its tap threw: ${e.detail.split('\n')[0]}`)
  }
  return { available: true, runs: r.runs, calls: r.calls, findings }
}

function startFinding(message: string): BehaviourFinding {
  return { rule: 'sandbox-start', severity: 'warning', message, declared: false, run: 0 }
}
