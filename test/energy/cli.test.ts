/**
 * End to end through the built CLI against the Ollama test server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { LooseEvent as RunEvent } from '../support/events.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b", size_gb: 1.3 }
  deep: { runtime: ollama, base: "qwen2.5:7b", size_gb: 4.7 }
`
const QUICK_DEEP = `name: quick-deep
answer: [deep, quick]
stages:
  quick:
    model: quick
    prompt: "Briefly: {{query}}"
  deep:
    model: deep
    prompt: "Deeply: {{query}}"
    options: { num_ctx: 8192 }
`

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer({ tokenDelayMs: 1 })
})
afterAll(async () => {
  await server?.close()
})

const of = (events: RunEvent[], type: string) => events.filter((e) => e.type === type)

describe('energy profiles through the CLI (needs the wiring)', () => {
  const project = (extra: Record<string, string> = {}) =>
    makeProject({ 'chains/quick-deep.yaml': QUICK_DEEP, 'models/manifest.yaml': MANIFEST, ...extra })
  const env = (p: { home: string }, more: NodeJS.ProcessEnv = {}) => ({
    MIRADOR_HOME: p.home,
    OLLAMA_HOST: server.url,
    ...more,
  })

  it('--profile survival: profile event, deep gone from the plan, energy in done', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', 'hello', '--json', '--profile', 'survival'], {
      cwd: p.dir,
      env: env(p, { MIRADOR_BATTERY: '80,plugged' }),
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(of(r.events, 'profile')[0]).toMatchObject({ name: 'survival', pinned: true, battery: 80, plugged: true })
    expect(of(r.events, 'plan')[0]).toMatchObject({ stages: [{ stage: 'quick', model: 'quick' }], concurrency: 1 })
    expect(of(r.events, 'stage-start').map((e) => e.model)).toEqual(['llama3.2:1b'])
    const done = of(r.events, 'done')[0]!
    expect((done.energy as { joules: number }).joules).toBeGreaterThan(0)
    expect((done.profile as { name: string }).name).toBe('survival')
  })

  it('MIRADOR_BATTERY=60,unplugged: balanced substitutes the deep model', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', 'hello', '--json'], {
      cwd: p.dir,
      env: env(p, { MIRADOR_BATTERY: '60,unplugged' }),
    })
    expect(r.code).toBe(0)
    expect(of(r.events, 'profile')[0]).toMatchObject({ name: 'balanced', battery: 60, plugged: false })
    expect(of(r.events, 'stage-start').map((e) => e.model)).toEqual(['llama3.2:1b', 'llama3.2:1b'])
  })

  it('MIRADOR_BATTERY=15,unplugged picks survival; none picks performance', async () => {
    const p = project()
    const low = await runCli(['chain', 'run', 'quick-deep', 'hello', '--json'], {
      cwd: p.dir,
      env: env(p, { MIRADOR_BATTERY: '15,unplugged' }),
    })
    expect(of(low.events, 'profile')[0]).toMatchObject({ name: 'survival' })
    expect(of(low.events, 'stage-start')).toHaveLength(1)
    const none = await runCli(['chain', 'run', 'quick-deep', 'hello', '--json'], {
      cwd: p.dir,
      env: env(p, { MIRADOR_BATTERY: 'none' }),
    })
    expect(of(none.events, 'profile')[0]).toMatchObject({ name: 'performance', battery: null, plugged: true })
    expect(
      of(none.events, 'stage-start')
        .map((e) => e.model)
        .sort(),
    ).toEqual(['llama3.2:1b', 'qwen2.5:7b'])
  })

  it('an unknown --profile fails at once with the names', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'quick-deep', 'hello', '--profile', 'turbo'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/USAGE: no energy profile named "turbo".*balanced, performance, survival/)
  })

  it('an invalid project profile is reported with file:line:column', async () => {
    const p = project({ 'profiles/broken.yaml': 'when:\n  plugged: maybe\n' })
    const r = await runCli(['chain', 'run', 'quick-deep', 'hello', '--json'], {
      cwd: p.dir,
      env: env(p, { MIRADOR_BATTERY: '90,plugged' }),
    })
    expect(of(r.events, 'error').map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/profiles\/broken\.yaml:2:12: /)]),
    )
  })

  it('energy report sums the logged runs (memory on)', async () => {
    const p = project()
    for (const b of ['90,plugged', '50,unplugged'])
      await runCli(['chain', 'run', 'quick-deep', 'hello', '--json'], {
        cwd: p.dir,
        env: env(p, { MIRADOR_BATTERY: b, MIRADOR_MEMORY: 'on', MIRADOR_CHROMA_IDLE_MS: '1000' }),
        timeoutMs: 60000,
      })
    const r = await runCli(['energy', 'report', '--json'], { cwd: p.dir, env: env(p) })
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { runs: number; byProfile: { key: string }[]; byChain: { key: string }[] }
    expect(report.runs).toBe(2)
    expect(report.byProfile.map((x) => x.key).sort()).toEqual(['balanced', 'performance'])
    expect(report.byChain.map((x) => x.key)).toEqual(['quick-deep'])
  }, 90000)

  it('energy profile says which profile applies and why', async () => {
    const p = project()
    const r = await runCli(['energy', 'profile', '--json'], {
      cwd: p.dir,
      env: env(p, { MIRADOR_BATTERY: '15,unplugged' }),
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ profile: 'survival', battery: 15, plugged: false, pinned: false })
  })
})

describe('quality per joule', () => {
  it('under a profile that asks for it, ask prefers the chain with the best expected rating per joule', async () => {
    const { startOllamaTestServer } = await import('../support/ollama-server.js')
    const { makeProject, runCli } = await import('../support/cli.js')
    const server = await startOllamaTestServer()
    try {
      const p = makeProject({
        'models/manifest.yaml':
          'models:\n  quick: { runtime: ollama, base: "llama3.2:1b", size_gb: 1.3 }\n' +
          '  deep: { runtime: ollama, base: "qwen2.5:7b", size_gb: 4.7 }\n',
        'chains/cheap.yaml':
          'weights: { general: 0.6 }\n' +
          'stages:\n  a: { model: quick, prompt: "{{query}}", options: { max_tokens: 300 } }\n',
        'chains/pricey.yaml':
          'weights: { general: 0.6 }\n' +
          'stages:\n  a: { model: deep, prompt: "{{query}}", options: { max_tokens: 300 } }\n',
        'profiles/frugal.yaml': 'name: frugal\ndescription: Best rating per joule.\nchoose: quality_per_joule\n',
      })
      const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_BATTERY: 'none' }
      for (let i = 0; i < 4; i++) {
        const r = await runCli(['ask', 'tell me something', '--json', '--profile', 'frugal'], { cwd: p.dir, env })
        expect(r.events.find((e) => e.type === 'route')).toMatchObject({
          chain: 'cheap',
          reason: expect.stringContaining('per joule'),
        })
      }
      // without it, both chains get chosen over enough runs
      const seen = new Set<string>()
      for (let i = 0; i < 12 && seen.size < 2; i++)
        seen.add(
          (
            await runCli(['ask', 'tell me something', '--json', '--profile', 'performance'], { cwd: p.dir, env })
          ).events.find((e) => e.type === 'route')!.chain,
        )
      expect([...seen].sort()).toEqual(['cheap', 'pricey'])
    } finally {
      await server.close()
    }
  })
})
