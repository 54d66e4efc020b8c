/**
 * The hostile plugin corpus (test/fixtures/hostile-plugins) against issue 12's defences. Every
 * plugin that old-way.test.ts shows succeeding in process is here
 *   - checked by `mirador plugins check DIR --json`, which gives its reasons: the static findings
 *     old-way.test.ts lists (rule, file:line:column, not declared), and for what a parser cannot
 *     see, the sandbox behaviour test's findings (a timeout, the memory limit, an access denied, an
 *     undeclared hook or capability). Those in REFUSED are refused (exit 1, `ok: false`: what `install`
 *     refuses); the others carry undeclared warnings (`install` shows them and asks; `--strict` refuses);
 *     `plugins install` of the one with a postinstall script refuses it without running the script;
 *   - contained at run time when listed normally ($MIRADOR_HOME/config.yaml, no `trusted`, so it
 *     runs in its own host process): no canary, no connection to any listener, the run answers,
 *     and its answer and output are exactly those of a run without the plugin. What goes wrong is
 *     reported by the plugin's name (PLUGIN_SANDBOX, PLUGIN_UNDECLARED, PLUGIN_FAILED; RUNTIME).
 *   - even `trusted: true` (in process), a tap on an undeclared hook is refused by name.
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

/** The rules of `plugins check` findings that are not static analysis (src/plugin-store/behaviour.ts). */
const CHECK_RULES = {
  /** a tap ran past its deadline in the behaviour test */
  timeout: 'sandbox-timeout',
  /** the host went over its memory limit in the behaviour test */
  memory: 'sandbox-memory',
  /** the host was refused a file, a program, a worker, a connection, a Node internal */
  denied: 'sandbox-denied',
  /** a tap on a hook the manifest does not declare */
  undeclaredHook: 'undeclared-hook',
  /** a call to a capability the manifest does not declare */
  undeclaredCapability: 'undeclared-capability',
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
  'infinite-loop': [[CHECK_RULES.timeout, /prompt tap/]],
  'memory-bomb': [[CHECK_RULES.memory, /memory limit/]],
  'answer-hijack': [[CHECK_RULES.undeclaredHook, /runDone/]],
  'capability-misuse': [[CHECK_RULES.undeclaredCapability, /memory\.search/]],
  // reads the memory key on its 3rd run only: the behaviour test must drive at least 3 runs
  'time-bomb': [
    [CHECK_RULES.denied, /FileSystemWrite .*\.runs \(run 1/],
    [CHECK_RULES.denied, /FileSystemRead .*memory\.key \(run 3/],
  ],
  'key-theft': [[CHECK_RULES.denied, /FileSystemRead .*memory\.key/]],
  'beacon-net': [[CHECK_RULES.denied, /net\.connect/]],
  'beacon-udp': [[CHECK_RULES.denied, /dgram\.createSocket/]],
  'process-binding': [[CHECK_RULES.denied, /Node internal/]],
}

/**
 * The plugins `plugins check` refuses (exit 1), so `install` refuses them too: an error finding
 * (tampering with built-ins, process.binding, an install script, a behaviour-test finding). The
 * others do what their permissions do not declare only with options the check cannot know (a
 * canary folder: given none, their taps throw first), so the check warns, `install` shows the
 * warnings and asks, and the sandbox contains them at run time (below).
 */
const REFUSED: readonly string[] = [
  'answer-hijack',
  'beacon-net',
  'beacon-udp',
  'capability-misuse',
  'fetch-patch',
  'infinite-loop',
  'install-scripts',
  'json-tamper',
  'key-theft',
  'memory-bomb',
  'process-binding',
  'proto-pollution',
  'time-bomb',
]

/**
 * What a sandboxed run reports of each plugin, by its name (an error event, or the warning the
 * sandbox logs at its first refused access): proof that it was loaded, ran in its host, and was
 * stopped there. Missing: the three whose hostility cannot reach out of their own process
 * (json-tamper, proto-pollution tamper with their host's built-ins; install-scripts' code is harmless).
 */
const RUNTIME: Readonly<Record<string, RegExp>> = {
  'answer-hijack': /taps the hook "runDone"/,
  'beacon-net': /network: net\.connect/,
  'beacon-udp': /network: dgram\.createSocket/,
  'builtin-module': /fs: FileSystemWrite .*canary/,
  'capability-misuse': /capability: memory\.search/,
  'computed-import': /child_process: ChildProcess/,
  'env-theft': /fs: FileSystemWrite .*canary/,
  'fetch-patch': /failed while it was applied: .*fetch/,
  'infinite-loop': /prompt tap did not answer within its \d+ ms deadline/,
  'key-theft': /fs: FileSystemRead .*memory\.key/,
  'memory-bomb': /memory limit/,
  'obfuscated-eval': /fs: FileSystemWrite .*canary/,
  'process-binding': /process\.binding/,
  spawn: /child_process: ChildProcess/,
  'time-bomb': /fs: FileSystemWrite .*\.runs/,
  'worker-thread': /worker: worker_threads\.Worker/,
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
  /** a behaviour finding's run */
  run?: number
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

interface CheckReport {
  ok: boolean
  findings: CheckFinding[]
  installScripts: { package: string; script: string }[]
  summary: { errors: number; warnings: number }
  behaviour: { available: boolean; runs: number }
}

describe('`mirador plugins check DIR --json` gives each hostile plugin’s reasons, and refuses those in REFUSED', () => {
  it.each([...HOSTILE])('%s', (name) => {
    const { p, check } = outcome(name)
    const report = JSON.parse(check.stdout) as CheckReport
    if (REFUSED.includes(name)) {
      expect(check.code).toBe(1)
      expect(report.ok).toBe(false)
      expect(report.summary.errors).toBeGreaterThan(0)
    } else {
      // what `install` shows before it asks, and what --strict refuses
      expect(report.summary.warnings).toBeGreaterThan(0)
    }
    expect(report.behaviour.available).toBe(true)
    // every static finding old-way.test.ts lists, at the same place, not covered by the manifest
    const where = (f: CheckFinding) =>
      `${f.rule} ${path.relative(p.pluginDir, path.resolve(p.pluginDir, f.file ?? ''))}:${f.line}:${f.column}`
    const undeclared = report.findings.filter((f) => f.declared === false)
    expect(undeclared.map(where)).toEqual(expect.arrayContaining([...STATIC[name]!]))
    for (const [rule, message] of BEHAVIOUR[name] ?? [])
      expect(report.findings).toContainEqual(
        expect.objectContaining({ rule, severity: 'error', message: expect.stringMatching(message) }),
      )
    expect(report.installScripts.map((s) => s.script)).toEqual(name === 'install-scripts' ? ['postinstall'] : [])
  })

  it('the time bomb is quiet on its first two runs of the behaviour test, and reads the key on the third', () => {
    const report = JSON.parse(outcome('time-bomb').check.stdout) as CheckReport
    expect(report.behaviour.runs).toBe(3)
    const key = report.findings.filter((f) => /memory\.key/.test(f.message) && f.rule === CHECK_RULES.denied)
    expect(key).toEqual([expect.objectContaining({ run: 3 })])
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
    const { error } = JSON.parse(r.stdout) as {
      error: { code: string; message: string; details: { check: CheckReport } }
    }
    expect(error.code).toBe('PLUGIN_INSTALL')
    expect(error.message).toContain('has an install script (postinstall: node postinstall.js)')
    expect(error.details.check.ok).toBe(false)
    expect(error.details.check.installScripts).toEqual([
      expect.objectContaining({ package: 'hostile-install-scripts', script: 'postinstall' }),
    ])
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

  it.each(Object.entries(RUNTIME))('%s: ran in its host, and what it tried is reported by its name', (name, what) => {
    const o = outcome(name)
    for (const r of o.runs) {
      const reports = r.events.filter((e) => e.type === 'error' || (e.type === 'log' && e.code === ERROR.sandbox))
      expect(reports).toContainEqual(
        expect.objectContaining({ plugin: o.p.plugin, message: expect.stringMatching(what) }),
      )
    }
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
