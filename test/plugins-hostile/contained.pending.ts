/**
 * The hostile plugin corpus (test/fixtures/hostile-plugins) against issue 12's defences. Every
 * plugin that old-way.test.ts shows succeeding in process is here
 *   - refused by `mirador plugins check DIR --json` (exit 1, `ok: false`) with its reason: the static
 *     findings old-way.test.ts lists (rule, file:line:column, not declared), and for what a parser
 *     cannot see, the sandbox behaviour test's finding (a timeout, a crash, an access denied, an
 *     undeclared hook or capability); `plugins install` of the one with a postinstall script
 *     refuses it without running the script;
 *   - contained at run time when listed normally ($MIRADOR_HOME/config.yaml, no `trusted`, so it
 *     runs in its own host process): no canary, no connection to any listener, the run answers,
 *     and its answer and output are exactly those of a run without the plugin. What goes wrong is
 *     reported by the plugin's name (PLUGIN_SANDBOX, PLUGIN_UNDECLARED, PLUGIN_FAILED).
 *   - even `trusted: true` (in process), a tap on an undeclared hook is refused by name.
 *
 * PENDING: this needs helpers A (manifest, scoped host, loading), B (src/sandbox) and C (`plugins
 * check`/`install`). It is named .pending.ts so jest does not run it until they are merged; then
 * rename it contained.test.ts. The names it expects from them are in CHECK_RULES and ERROR below.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import { ROOT, runCli, type CliResult } from '../support/cli.js'
import {
  CORPUS,
  HOSTILE,
  hostileProject,
  inBatches,
  QUERY,
  removeProjects,
  startListeners,
  STATIC,
  type HostileProject,
  type Listeners,
} from '../support/hostile-plugins.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'

/** The rules of `plugins check` findings that are not static analysis (C's names for B's behaviour report). */
const CHECK_RULES = {
  /** a tap ran past its deadline in the behaviour test */
  timeout: 'sandbox-timeout',
  /** the host died (out of memory, a crash) in the behaviour test */
  crash: 'sandbox-crash',
  /** the host was refused a file, a program, a worker, an environment variable (ERR_ACCESS_DENIED) */
  denied: 'sandbox-denied',
  /** a tap on a hook the manifest does not declare */
  undeclaredHook: 'undeclared-hook',
  /** a call to a capability the manifest does not declare */
  undeclaredCapability: 'undeclared-capability',
  /** preinstall, install or postinstall in package.json */
  installScript: 'install-script',
} as const

/** The codes of the run-time `error` events (src/engine/errors.ts). */
const ERROR = {
  sandbox: 'PLUGIN_SANDBOX',
  undeclared: 'PLUGIN_UNDECLARED',
  tapFailed: 'PLUGIN_FAILED',
} as const

/**
 * What `plugins check` must find beyond the static findings (STATIC): the rule, and what its
 * message names. These are the plugins a parser cannot catch (or, for the time bomb, not by what
 * it does): the behaviour test (several runs of recorded hook traffic in the sandbox) must.
 */
const BEHAVIOUR: Readonly<Record<string, [rule: string, message: RegExp][]>> = {
  'infinite-loop': [[CHECK_RULES.timeout, /prompt/]],
  'memory-bomb': [[CHECK_RULES.crash, /./]],
  'answer-hijack': [[CHECK_RULES.undeclaredHook, /runDone/]],
  'capability-misuse': [[CHECK_RULES.undeclaredCapability, /memory\.search/]],
  // reads the memory key on its 3rd run only: the behaviour test must drive at least 3 runs
  'time-bomb': [[CHECK_RULES.denied, /memory\.key/]],
  'key-theft': [[CHECK_RULES.denied, /memory\.key/]],
  'install-scripts': [[CHECK_RULES.installScript, /postinstall/]],
}

/** A `plugins check --json` finding, as C prints it. */
interface CheckFinding {
  rule: string
  file?: string
  line?: number
  column?: number
  message: string
  declared?: boolean
  severity?: string
}

interface Contained {
  p: HostileProject
  check: CliResult
  runs: CliResult[]
}

let server: OllamaTestServer
let listeners: Listeners
let baseline: string
const outcomes = new Map<string, Contained>()

const doneOf = (r: CliResult) => r.events.find((e) => e.type === 'done')
const errorsOf = (r: CliResult) => r.events.filter((e) => e.type === 'error')
/** A run; one that never ends (a plugin holding the CLI's process) is a failed result, not a thrown error. */
const run = (p: HostileProject, env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(['chain', 'run', 'ask', QUERY, '--json'], { cwd: p.dir, env: { ...p.env, ...env }, timeoutMs: 30000 }).catch(
    (err: Error) => ({ code: null, stdout: '', stderr: err.message, ms: 30000, events: [] }),
  )

async function trial(name: string): Promise<Contained> {
  // listed as a user lists a plugin they installed: no `trusted`, so it runs sandboxed
  const p = hostileProject(name, { ollama: server.url, listeners, entry: {} })
  const check = await runCli(['plugins', 'check', p.pluginDir, '--json'], { cwd: p.dir, env: p.env, timeoutMs: 30000 })
  const runs: CliResult[] = []
  // the time bomb's third run is the one that matters; the memory bomb's CLI gets a small heap
  // so that, were the plugin in its process after all, the CLI would die rather than eat the machine
  for (let i = 0; i < (name === 'time-bomb' ? 3 : 1); i++)
    runs.push(await run(p, name === 'memory-bomb' ? { NODE_OPTIONS: '--max-old-space-size=256' } : {}))
  return { p, check, runs }
}

beforeAll(async () => {
  server = await startOllamaTestServer()
  listeners = await startListeners()
  baseline = String(doneOf(await run(hostileProject('spawn', { ollama: server.url, listeners })))?.answer)
  expect(baseline).toContain('launch code')
  const slow = ['infinite-loop', 'time-bomb', 'memory-bomb']
  const names = [...HOSTILE].sort((a, b) => Number(slow.includes(b)) - Number(slow.includes(a)))
  for (const o of await inBatches(
    4,
    names.map((n) => () => trial(n)),
  ))
    outcomes.set(o.p.name, o)
}, 120000)

afterAll(async () => {
  await listeners?.close()
  await server?.close()
  removeProjects()
})

const outcome = (name: string) => outcomes.get(name)!

describe('`mirador plugins check DIR --json` refuses each hostile plugin, with its reason', () => {
  it.each([...HOSTILE])('%s', (name) => {
    const { p, check } = outcome(name)
    expect(check.code).toBe(1)
    const report = JSON.parse(check.stdout) as { ok: boolean; findings: CheckFinding[] }
    expect(report.ok).toBe(false)
    // every static finding old-way.test.ts lists, at the same place, not covered by the manifest
    const where = (f: CheckFinding) =>
      `${f.rule} ${path.relative(p.pluginDir, path.resolve(p.pluginDir, f.file ?? ''))}:${f.line}:${f.column}`
    const undeclared = report.findings.filter((f) => f.declared === false)
    expect(undeclared.map(where)).toEqual(expect.arrayContaining([...STATIC[name]!]))
    for (const [rule, message] of BEHAVIOUR[name] ?? [])
      expect(report.findings).toContainEqual(expect.objectContaining({ rule, message: expect.stringMatching(message) }))
    // a refusal always says why
    expect(report.findings.length).toBeGreaterThan(0)
  })

  it('the example plugin passes cleanly (the check does not refuse everything)', async () => {
    const r = await runCli(['plugins', 'check', path.join(ROOT, 'examples/plugins/today'), '--json'], {
      cwd: outcome('spawn').p.dir,
      env: outcome('spawn').p.env,
      timeoutMs: 30000,
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, findings: [] })
  })

  it('`plugins install --yes` refuses a plugin with a postinstall script, and never runs it', async () => {
    const p = hostileProject('install-scripts', { ollama: server.url, listeners })
    const r = await runCli(['plugins', 'install', p.pluginDir, '--yes', '--json'], {
      cwd: p.dir,
      // where the script would write, were it run (as `npm install` runs it: old-way.test.ts)
      env: { ...p.env, HOSTILE_CANARY: p.canary },
      timeoutMs: 30000,
    })
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout) as { ok: boolean; findings: CheckFinding[] }
    expect(report.ok).toBe(false)
    expect(report.findings).toContainEqual(
      expect.objectContaining({ rule: CHECK_RULES.installScript, message: expect.stringContaining('postinstall') }),
    )
    expect(readdirSync(p.canary)).toEqual([])
    // not enabled, not pinned
    for (const f of ['config.yaml', 'plugins/plugins.lock.json']) {
      const file = path.join(p.home, f)
      if (existsSync(file)) expect(readFileSync(file, 'utf8')).not.toContain('hostile-install-scripts')
    }
  })
})

/** Codes a sandboxed hostile plugin's trouble may be reported with; each report names the plugin. */
const REPORTED: readonly string[] = [ERROR.sandbox, ERROR.undeclared, ERROR.tapFailed]

/** What must hold of every run of every plugin: it answered as without the plugin, and nothing got out. */
function contained(o: Contained): void {
  for (const r of o.runs) {
    expect(r.code).toBe(0)
    const done = doneOf(r)
    // the answer, and nothing added to the done event (json-tamper's `replaced`, proto-pollution's `joins`)
    expect(done).toMatchObject({ ok: true, answer: baseline })
    expect(done).not.toHaveProperty('replaced')
    expect(done).not.toHaveProperty('joins')
    for (const e of errorsOf(r)) {
      expect(REPORTED).toContain(e.code)
      expect(e.plugin).toBe(o.p.plugin)
    }
    // no event of the plugin's own making carried anything out (capability-misuse's `greeting`)
    expect(r.events.filter((e) => e.type === 'greeting')).toEqual([])
    expect(r.stdout).not.toContain(o.p.secret)
    expect(r.stdout).not.toContain(o.p.key.toString('hex'))
  }
  expect(readdirSync(o.p.canary)).toEqual([])
  // nothing of it reached a listener (each beacon names itself: `beacon-net …`, `POST /fetch-patch …`)
  expect(listeners.hits.filter((h) => h.text.includes(o.p.name))).toEqual([])
  // nothing written into its own folder either (the time bomb's run counter)
  expect(readdirSync(o.p.pluginDir).sort()).toEqual(readdirSync(path.join(CORPUS, o.p.name)).sort())
}

describe('listed normally (sandboxed), each hostile plugin is contained at run time', () => {
  it.each([...HOSTILE])('%s: no canary, the run answers untampered', (name) => {
    contained(outcome(name))
  })

  it('no connection or datagram reached any listener, from any plugin', () => {
    expect(listeners.hits).toEqual([])
    expect(listeners.arrivals).toBe(0)
  })

  it('infinite-loop: the host is killed at the deadline, reported once, and the run answers', () => {
    const r = outcome('infinite-loop').runs[0]!
    expect(errorsOf(r)).toEqual([expect.objectContaining({ code: ERROR.sandbox, plugin: 'hostile-infinite-loop' })])
    expect(doneOf(r)).toMatchObject({ ok: true, answer: baseline })
  })

  it('memory-bomb: the host dies at its memory limit, not the CLI; reported once', () => {
    const r = outcome('memory-bomb').runs[0]!
    expect(errorsOf(r)).toEqual([expect.objectContaining({ code: ERROR.sandbox, plugin: 'hostile-memory-bomb' })])
    expect(r.stderr).not.toMatch(/heap out of memory/i)
  })

  it('answer-hijack: its tap on runDone is refused by name, and the answer is the model’s', () => {
    const r = outcome('answer-hijack').runs[0]!
    expect(errorsOf(r)).toContainEqual(
      expect.objectContaining({
        code: ERROR.undeclared,
        plugin: 'hostile-answer-hijack',
        message: expect.stringContaining('runDone'),
      }),
    )
  })

  it('capability-misuse: memory.search is refused by name', () => {
    const r = outcome('capability-misuse').runs[0]!
    expect(errorsOf(r)).toContainEqual(
      expect.objectContaining({
        plugin: 'hostile-capability-misuse',
        message: expect.stringContaining('memory.search'),
      }),
    )
  })

  it('time-bomb: three runs answered, and on none of them did the key leave', () => {
    const o = outcome('time-bomb')
    expect(o.runs.map((r) => doneOf(r)?.answer)).toEqual([baseline, baseline, baseline])
    // it could not keep its run count in its own folder
    expect(existsSync(path.join(o.p.pluginDir, '.runs'))).toBe(false)
  })

  it('install-scripts: its code is harmless and runs sandboxed without a single error', () => {
    expect(errorsOf(outcome('install-scripts').runs[0]!)).toEqual([])
  })

  it('no plugin host is left running', () => {
    const read = (pid: string) => {
      try {
        return { cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8'), cwd: readlinkSync(`/proc/${pid}/cwd`) }
      } catch {
        return undefined // gone, or not ours to read
      }
    }
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      const proc = read(pid)
      if (!proc) continue
      for (const o of outcomes.values()) {
        expect(proc.cmdline).not.toContain(o.p.dir)
        expect(proc.cwd.startsWith(o.p.dir)).toBe(false)
      }
    }
  })
})

describe('trusted: true runs in process, but still only through the hooks it declares', () => {
  it('answer-hijack, trusted: its undeclared runDone tap is refused by name; the answer is not replaced', async () => {
    const p = hostileProject('answer-hijack', { ollama: server.url, listeners, entry: { trusted: true } })
    const r = await run(p)
    expect(errorsOf(r)).toContainEqual(
      expect.objectContaining({ code: ERROR.undeclared, message: expect.stringContaining('runDone') }),
    )
    expect(r.stdout).not.toContain('HIJACKED')
  })
})
