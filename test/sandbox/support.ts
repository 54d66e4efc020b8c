/**
 * A real engine with the real Ollama runtime and model manager against the Ollama-protocol test
 * server, and the probe plugin (fixtures/probe) in a real sandbox.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { registerBuiltinRuntimes } from '../../src/cli/runtimes.js'
import type { PluginManifest, PluginPermissions } from '../../src/engine/config/types.gen.js'
import { Engine } from '../../src/engine/engine.js'
import { ModelsPlugin } from '../../src/plugins/models/index.js'
import { createSandboxedPlugin, type SandboxedPlugin, type SandboxSpec } from '../../src/sandbox/index.js'
import { makeProject } from '../support/cli.js'
import type { LooseEvent } from '../support/events.js'
import type { OllamaTestServer } from '../support/ollama-server.js'

export const PROBE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'probe')

export type Manifest = PluginManifest & { permissions?: PluginPermissions }

export const PROBE_MANIFEST: Manifest = {
  apiVersion: 1,
  hooks: ['prompt', 'event', 'stageDone', 'runDone'],
  templateVars: ['probe', 'seen'],
}

export const CHAIN = {
  name: 'probe-chain',
  value: {
    stages: {
      draft: { model: 'quick', prompt: 'Draft {{query}} probe={{probe}}' },
      final: { model: 'quick', prompt: 'Final {{query}} seen={{seen}}', after: ['draft'] },
    },
  },
}

export function probeSpec(home: string, options: Record<string, unknown> = {}, extra: Partial<SandboxSpec> = {}) {
  return {
    name: 'ProbePlugin',
    entryFile: path.join(PROBE_DIR, 'index.js'),
    dir: PROBE_DIR,
    manifest: PROBE_MANIFEST,
    options: { home, ...options },
    home,
    ...extra,
  } satisfies SandboxSpec
}

export interface Setup {
  engine: Engine
  events: LooseEvent[]
  plugins: SandboxedPlugin[]
  home: string
  run(query?: string): ReturnType<Engine['run']>
  close(): Promise<void>
}

export function setupEngine(server: OllamaTestServer, env: Record<string, string> = {}): Setup {
  const p = makeProject({ 'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n' })
  mkdirSync(path.join(p.home, 'keys'), { recursive: true })
  writeFileSync(path.join(p.home, 'keys', 'memory.key'), 'CANARY-KEY-0123456789')
  const engine = new Engine({
    cwd: p.dir,
    home: p.home,
    offline: false,
    memory: false,
    config: { ollama: { host: server.url } },
    env: { ...env, PATH: process.env.PATH },
  })
  registerBuiltinRuntimes(engine)
  engine.use(new ModelsPlugin({ manifest: path.join(p.dir, 'models/manifest.yaml') }))
  const events: LooseEvent[] = []
  engine.hooks.event.tap('Collect', (e) => void events.push(structuredClone(e) as LooseEvent))
  const plugins: SandboxedPlugin[] = []
  return {
    engine,
    events,
    plugins,
    home: p.home,
    run: (query = 'hello') => engine.run({ chain: CHAIN, query }),
    async close() {
      await Promise.all(plugins.map((pl) => pl.stop()))
      await engine.dispose()
    },
  }
}

export function sandboxed(s: Setup, spec: SandboxSpec): SandboxedPlugin {
  const plugin = createSandboxedPlugin(spec)
  s.plugins.push(plugin)
  s.engine.use(plugin)
  return plugin
}

/** Whether a process of that id still exists (ps, not a signal: a zombie would answer a signal). */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    const out = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)])
      .toString()
      .trim()
    return out !== '' && !out.startsWith('Z')
  } catch {
    return false
  }
}

export async function waitUntil(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return check()
}
