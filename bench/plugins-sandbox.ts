/**
 * Sandboxed plugins' numbers for `npm run bench` (section `plugins`):
 *
 * - one proxied tap (the example plugin's `prompt` tap, in its host, warm) against the same tap in
 *   process: the p50 the round trip adds (goal ≤ 1 ms);
 * - the first token of a two-stage chain on the Ollama test server with two warm sandboxed plugins
 *   (the example plugin and the test probe, which taps prompt, event, stageDone and runDone) against
 *   none (goal ≤ 50 ms added);
 * - a host's cold start (process, permission model, loader, the plugin's modules, apply), with its
 *   network namespace and without.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { registerBuiltinRuntimes } from '../src/cli/runtimes.js'
import { Engine } from '../src/engine/engine.js'
import type { MiradorPlugin } from '../src/engine/plugins.js'
import { instantiate } from '../src/engine/plugins.js'
import type { Prompt, StageContext } from '../src/engine/types.js'
import { ModelsPlugin } from '../src/plugins/models/index.js'
import { createSandboxedPlugin, type SandboxSpec } from '../src/sandbox/index.js'
import { installPluginApi } from '../test/support/plugin-api.js'
import { median } from './lib.js'

export interface PluginsBench {
  tap: { inProcessP50: number; sandboxedP50: number }
  firstToken: { noneP50: number; twoP50: number }
  cold: { namespaceP50: number; jsOnlyP50: number }
}

const p50 = median

/** The example plugin in a project folder of its own, with @mirador/plugin-api installed (for in process). */
function todayCopy(root: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-today-'))
  for (const f of ['index.js', 'package.json'])
    copyFileSync(path.join(root, 'examples', 'plugins', 'today', f), path.join(dir, f))
  installPluginApi(dir)
  return dir
}

function todaySpec(dir: string, home: string, extra: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    name: 'TodayPlugin',
    entryFile: path.join(dir, 'index.js'),
    dir,
    manifest: { apiVersion: 1, hooks: ['prompt'], templateVars: ['today'] },
    options: { timeZone: 'UTC' },
    home,
    ...extra,
  }
}

function probeSpec(root: string, home: string): SandboxSpec {
  const dir = path.join(root, 'test', 'sandbox', 'fixtures', 'probe')
  return {
    name: 'ProbePlugin',
    entryFile: path.join(dir, 'index.js'),
    dir,
    manifest: { apiVersion: 1, hooks: ['prompt', 'event', 'stageDone', 'runDone'], templateVars: ['probe', 'seen'] },
    options: { home },
    home,
  }
}

function stageContext(): StageContext {
  return {
    runId: 'bench',
    chain: 'bench',
    query: 'q',
    memory: false,
    signal: new AbortController().signal,
    emit: () => {},
    log: () => {},
    stage: 's',
    spec: { model: 'm', prompt: 'p' },
    summary: {},
    results: new Map(),
  }
}

async function tapP50(engine: Engine, n: number): Promise<number> {
  const prompt: Prompt = { template: 'Today is {{today}}', vars: { query: 'q' } }
  const ctx = stageContext()
  for (let i = 0; i < 20; i++) await engine.hooks.prompt.promise(prompt, ctx)
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await engine.hooks.prompt.promise(prompt, ctx)
    times.push(performance.now() - t0)
  }
  return p50(times)
}

function bareEngine(home: string): Engine {
  return new Engine({ cwd: home, home, offline: true, memory: false, config: {} })
}

export async function benchPlugins(root: string, serverUrl: string, runs: number): Promise<PluginsBench> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-plugins-'))
  const home = path.join(dir, 'home')
  mkdirSync(home, { recursive: true })
  writeFileSync(path.join(dir, 'manifest.yaml'), 'models:\n  quick: { runtime: ollama, base: "quick:1b" }\n')
  const todayDir = todayCopy(root)

  // 1. one tap, in process and proxied
  const mod = (await import(pathToFileURL(todaySpec(todayDir, home).entryFile).href)) as { default: unknown }
  const inProcess = bareEngine(home)
  inProcess.use(instantiate(mod.default, { timeZone: 'UTC' }, 'today'))
  const sandboxedEngine = bareEngine(home)
  const today = createSandboxedPlugin(todaySpec(todayDir, home))
  sandboxedEngine.use(today)
  await today.started
  const tap = { inProcessP50: await tapP50(inProcess, 500), sandboxedP50: await tapP50(sandboxedEngine, 500) }
  await today.stop()

  // 2. first token of a two-stage chain, with two warm sandboxed plugins and without
  const chain = {
    name: 'two',
    value: {
      stages: {
        a: { model: 'quick', prompt: 'A {{query}}' },
        b: { model: 'quick', prompt: 'B {{query}}', after: ['a'] },
      },
    },
  }
  const chainEngine = (plugins: MiradorPlugin[]) => {
    const e = new Engine({ cwd: dir, home, offline: false, memory: false, config: { ollama: { host: serverUrl } } })
    registerBuiltinRuntimes(e)
    e.use(new ModelsPlugin({ manifest: path.join(dir, 'manifest.yaml') }))
    for (const p of plugins) e.use(p)
    return e
  }
  const firstToken = async (engine: Engine) => {
    let first = -1
    const t0 = performance.now()
    engine.hooks.event.tap('Bench', (ev) => {
      if (ev.type === 'token' && first < 0) first = performance.now() - t0
    })
    const r = await engine.run({ chain, query: 'hello' })
    if (!r.ok || first < 0) throw new Error(`the bench chain did not answer: ${JSON.stringify(r.stages[0]?.error)}`)
    return first
  }
  const two = [createSandboxedPlugin(todaySpec(todayDir, home)), createSandboxedPlugin(probeSpec(root, home))]
  const withTwo = chainEngine(two)
  const none = chainEngine([])
  await Promise.all(two.map((p) => p.started))
  const noneTimes: number[] = []
  const twoTimes: number[] = []
  await firstToken(none)
  await firstToken(withTwo)
  for (let i = 0; i < runs; i++) {
    noneTimes.push(await firstToken(none))
    twoTimes.push(await firstToken(withTwo))
  }
  await Promise.all(two.map((p) => p.stop()))
  await Promise.all([withTwo.dispose(), none.dispose()])

  // 3. cold start, with the namespace and the JS barrier alone
  const coldStart = async (namespace: boolean) => {
    const times: number[] = []
    for (let i = 0; i < Math.min(runs, 7); i++) {
      const t0 = performance.now()
      const p = createSandboxedPlugin(todaySpec(todayDir, home, { namespace }))
      bareEngine(home).use(p)
      await p.started
      times.push(performance.now() - t0)
      await p.stop()
    }
    return p50(times)
  }
  const cold = { namespaceP50: await coldStart(true), jsOnlyP50: await coldStart(false) }
  return { tap, firstToken: { noneP50: p50(noneTimes), twoP50: p50(twoTimes) }, cold }
}
