/**
 * The hostile plugin corpus (test/fixtures/hostile-plugins) loaded the old way, in the CLI's own
 * process as a `trusted: true` entry of $MIRADOR_HOME/config.yaml loads: each plugin gets what it
 * is after (the memory key, the environment, a connection out, a spawned program, the answer…),
 * shown by the real CLI against the Ollama test double. This is the threat the sandbox answers
 * (contained.test.ts). The two plugins that break the manifest's own rules (an undeclared hook,
 * an undeclared capability) are applied with `engine.use`, the path every plugin took before the
 * manifest was enforced. Last, the static analyzer `plugins check` reuses is shown to flag every
 * hostile line it can see, at file:line:column.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { setup } from '../../src/cli/setup.js'
import type { PluginPermissions } from '../../src/engine/config/types.gen.js'
import { instantiate } from '../../src/engine/plugins.js'
import { analyzePaths, compareWithPermissions } from '../../src/lib/static-analysis/index.js'
import { runCli, type CliResult } from '../support/cli.js'
import type { LooseEvent } from '../support/events.js'
import {
  canaryOf,
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

/** plugins whose hostility only shows in process through the engine API (see the file's comment) */
const IN_ENGINE = ['answer-hijack', 'capability-misuse']

interface Outcome {
  p: HostileProject
  runs: CliResult[]
  /** the canary after each run (time-bomb) */
  canaries: (string | undefined)[]
  /** why a run did not finish (infinite-loop) */
  failure?: string
  /** `npm install`'s output (install-scripts) */
  npm?: { code: number | null; output: string }
}

let server: OllamaTestServer
let listeners: Listeners
let baseline: string
const outcomes = new Map<string, Outcome>()

const doneOf = (r: CliResult) => r.events.find((e) => e.type === 'done')
const run = (p: HostileProject, extra: { env?: Record<string, string>; timeoutMs?: number } = {}) =>
  runCli(['chain', 'run', 'ask', QUERY, '--json'], {
    cwd: p.dir,
    env: { ...p.env, ...extra.env },
    timeoutMs: extra.timeoutMs ?? 20000,
  })

/** `npm install PLUGIN` in a new app folder, as a user adds a plugin today: npm runs its install scripts. */
function npmInstall(p: HostileProject): Promise<{ code: number | null; output: string }> {
  const app = path.join(p.dir, 'app')
  mkdirSync(app)
  writeFileSync(path.join(app, 'package.json'), '{"name":"app","private":true}')
  return new Promise((resolve) => {
    const child = spawn('npm', ['install', '--offline', '--no-audit', '--no-fund', p.pluginDir], {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        HOME: p.dir,
        HOSTILE_CANARY: p.canary,
        npm_config_cache: path.join(p.dir, '.npm'),
        npm_config_update_notifier: 'false',
      },
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })
}

/** What each plugin's trial does with the CLI (one run unless said otherwise). */
async function trial(name: string): Promise<Outcome> {
  const p = hostileProject(name, { ollama: server.url, listeners, entry: { trusted: true } })
  const out: Outcome = { p, runs: [], canaries: [] }
  if (name === 'infinite-loop') {
    // a normal run takes well under a second; this one never ends, so the harness kills it
    await run(p, { timeoutMs: 4000 }).catch((err: Error) => (out.failure = err.message))
    return out
  }
  if (name === 'memory-bomb') {
    // the limit only makes the crash quick (and spares the machine): unlimited, it eats the heap's default
    out.runs.push(await run(p, { env: { NODE_OPTIONS: '--max-old-space-size=128' } }))
    return out
  }
  if (name === 'install-scripts') out.npm = await npmInstall(p)
  for (let i = 0; i < (name === 'time-bomb' ? 3 : 1); i++) {
    out.runs.push(await run(p))
    out.canaries.push(canaryOf(p))
  }
  return out
}

beforeAll(async () => {
  server = await startOllamaTestServer()
  listeners = await startListeners()
  const plain = await run(hostileProject('spawn', { ollama: server.url, listeners }))
  baseline = String(doneOf(plain)?.answer)
  expect(baseline).toContain('launch code')
  // the slow ones (the loop waits for its timeout, the time bomb runs three times) start first
  const names = HOSTILE.filter((n) => !IN_ENGINE.includes(n)).sort(
    (a, b) => Number(['infinite-loop', 'time-bomb'].includes(b)) - Number(['infinite-loop', 'time-bomb'].includes(a)),
  )
  const done = await inBatches(
    4,
    names.map((n) => () => trial(n)),
  )
  for (const o of done) outcomes.set(o.p.name, o)
}, 60000)

afterAll(async () => {
  await listeners?.close()
  await server?.close()
  removeProjects()
})

/** The plugin's one run answered as if nothing had happened: the theft is silent. */
function answeredNormally(o: Outcome): void {
  const r = o.runs.at(-1)!
  expect(r.events.filter((e) => e.type === 'error')).toEqual([])
  expect(r.code).toBe(0)
  expect(doneOf(r)).toMatchObject({ ok: true, answer: baseline })
}

const outcome = (name: string) => outcomes.get(name)!

describe('loaded the old way (in process, trusted: true), each hostile plugin gets what it is after', () => {
  it('key-theft copies $MIRADOR_HOME/keys/memory.key', () => {
    const o = outcome('key-theft')
    answeredNormally(o)
    expect(readFileSync(path.join(o.p.canary, 'key-theft'))).toEqual(o.p.key)
  })

  it('spawn starts another program', () => {
    const o = outcome('spawn')
    answeredNormally(o)
    expect(o.canaries[0]).toMatch(/^spawned \d+$/)
  })

  it('beacon-net sends the question over TCP to a listener it was never granted', () => {
    answeredNormally(outcome('beacon-net'))
    expect(listeners.hits).toContainEqual({ via: 'tcp', text: `beacon-net ${JSON.stringify(QUERY)}\n` })
  })

  it('beacon-udp sends the question in a UDP datagram', () => {
    answeredNormally(outcome('beacon-udp'))
    expect(listeners.hits).toContainEqual({ via: 'udp', text: `beacon-udp ${JSON.stringify(QUERY)}` })
  })

  it('env-theft copies the environment, secrets included, from process.env and settings.env', () => {
    const o = outcome('env-theft')
    answeredNormally(o)
    const loot = JSON.parse(o.canaries[0]!) as Record<'process' | 'settings', Record<string, string>>
    expect(loot.process.HOSTILE_SECRET).toBe(o.p.secret)
    expect(loot.settings.HOSTILE_SECRET).toBe(o.p.secret)
  })

  it('install-scripts: `npm install` runs its postinstall script; the plugin itself loads and works', () => {
    const o = outcome('install-scripts')
    expect(o.npm?.code).toBe(0)
    expect(o.canaries[0]).toMatch(/^postinstall ran as \d+$/)
    answeredNormally(o)
  })

  it('obfuscated-eval runs its base64 payload', () => {
    const o = outcome('obfuscated-eval')
    answeredNormally(o)
    expect(o.canaries[0]).toMatch(/^eval ran as \S+ with \d+ variables in reach$/)
  })

  it('time-bomb does nothing for two runs, then steals the key on the third', () => {
    const o = outcome('time-bomb')
    expect(o.runs.map((r) => doneOf(r)?.answer)).toEqual([baseline, baseline, baseline])
    expect(o.canaries).toEqual([undefined, undefined, `run 3: ${o.p.key.toString('hex')}`])
  })

  it('infinite-loop: the run never ends (the loop holds the CLI process, and no deadline can fire)', () => {
    const o = outcome('infinite-loop')
    expect(o.failure).toMatch(/^CLI did not finish in 4000 ms/)
    // it got as far as the tap, and no further
    expect(o.failure).toContain('hostile-infinite-loop: entering the loop')
    expect(o.failure).not.toContain('"type":"done"')
  })

  it('memory-bomb: the CLI process dies out of memory, with no answer', () => {
    const r = outcome('memory-bomb').runs[0]!
    expect(r.stdout).toContain('hostile-memory-bomb: allocating')
    expect(r.stderr).toMatch(/heap out of memory/i)
    expect(r.code).not.toBe(0)
    expect(doneOf(r)).toBeUndefined()
  })

  it('computed-import reaches node:child_process through a name built at run time', () => {
    const o = outcome('computed-import')
    answeredNormally(o)
    expect(o.canaries[0]).toBe('imported')
  })

  it('worker-thread runs code in a worker thread', () => {
    const o = outcome('worker-thread')
    answeredNormally(o)
    expect(o.canaries[0]).toMatch(/^worker thread \d+$/)
  })

  it('builtin-module writes files through process.getBuiltinModule', () => {
    const o = outcome('builtin-module')
    answeredNormally(o)
    expect(o.canaries[0]).toBe('getBuiltinModule')
  })

  it("process-binding writes files through Node's internal fs binding", () => {
    const o = outcome('process-binding')
    expect(doneOf(o.runs[0]!)).toMatchObject({ ok: true, answer: baseline })
    expect(o.canaries[0]).toBe('process.binding')
  })

  it("json-tamper: the CLI's own JSON.stringify prints the answer it chose", () => {
    const r = outcome('json-tamper').runs[0]!
    expect(doneOf(r)).toMatchObject({ ok: true, answer: 'TAMPERED by hostile-json-tamper', replaced: baseline })
  })

  it("proto-pollution: Object.prototype and Array.prototype.join of the CLI's process are its own", () => {
    const d = doneOf(outcome('proto-pollution').runs[0]!)
    expect(d).toMatchObject({ ok: true, answer: 'TAMPERED by hostile-proto-pollution', replaced: baseline })
    expect(d?.joins).toBeGreaterThan(0)
  })

  it('fetch-patch copies every prompt Mirador sends to the model, and the answer looks untouched', () => {
    answeredNormally(outcome('fetch-patch'))
    const copies = listeners.hits.filter((h) => h.via === 'http' && h.text.startsWith('POST /fetch-patch '))
    const chat = copies
      .map((h) => JSON.parse(h.text.slice('POST /fetch-patch '.length)) as { url: string; body: string })
      .find((c) => c.url.endsWith('/api/chat'))
    expect(chat?.body).toContain(`Q: ${QUERY}`)
  })
})

describe('applied in process with engine.use, as every plugin was before manifests were enforced', () => {
  async function inEngine(name: string) {
    const p = hostileProject(name, { ollama: server.url, listeners })
    const s = await setup({ cwd: p.dir, env: { ...p.env, HOME: p.dir, MIRADOR_MEMORY: 'off' } })
    const mod = (await import(pathToFileURL(path.join(p.pluginDir, 'index.js')).href)) as { default: unknown }
    expect(s.engine.use(instantiate(mod.default, p.options, p.plugin))).toBe(true)
    const events: LooseEvent[] = []
    s.engine.hooks.event.tap('Collect', (e) => void events.push(structuredClone(e) as LooseEvent))
    try {
      const result = await s.engine.run({ chain: 'ask', query: QUERY })
      return { result, events }
    } finally {
      await s.engine.dispose()
    }
  }

  it('answer-hijack replaces the answer through runDone and event, hooks it never declared', async () => {
    const { result, events } = await inEngine('answer-hijack')
    const hijacked = 'HIJACKED by hostile-answer-hijack: send your password to evil.example'
    expect(result.answer).toBe(hijacked)
    expect(events.at(-1)).toMatchObject({ type: 'done', ok: true, answer: hijacked })
    expect(events.filter((e) => e.type === 'error')).toEqual([])
  })

  it('capability-misuse calls memory.search and models.available, undeclared, and emits their answers', async () => {
    const { result, events } = await inEngine('capability-misuse')
    expect(result.answer).toBe(baseline)
    expect(events.find((e) => e.type === 'greeting')).toMatchObject({
      loot: {
        // memory is off in tests: the call reached the memory plugin, which said so
        'memory.search': { error: expect.stringContaining('memory is off') },
        'models.available': { value: { available: true } },
      },
    })
  })
})

describe('static analysis flags the hostile code it can see, at file:line:column', () => {
  it('the table covers the whole corpus', () => {
    expect(Object.keys(STATIC).sort()).toEqual([...HOSTILE])
    expect(HOSTILE.length).toBeGreaterThanOrEqual(16)
  })

  it.each(Object.entries(STATIC))('%s', async (name, want) => {
    const dir = path.join(CORPUS, name)
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      mirador: { permissions?: PluginPermissions }
    }
    const { findings } = await analyzePaths([dir])
    const undeclared = compareWithPermissions(findings, pkg.mirador.permissions).filter((f) => !f.declared)
    expect(undeclared.map((f) => `${f.rule} ${path.relative(dir, f.file)}:${f.line}:${f.column}`)).toEqual(want)
  })
})
