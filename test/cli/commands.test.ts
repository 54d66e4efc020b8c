import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { startOllamaTestServer, unusedPort, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
`
const CHAIN = `name: two
description: Two stages in a row.
stages:
  draft: { model: quick, prompt: "{{query}}" }
  refine: { model: deep, prompt: "{{stages.draft.output}}", skip_when: { stage: draft, confidence_above: 0.9 } }
`

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

function project(extra: Record<string, string> = {}) {
  const p = makeProject({ 'chains/two.yaml': CHAIN, 'models/manifest.yaml': MANIFEST, ...extra })
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url } }
}

describe('mirador chain ls / show / validate / doctor', () => {
  it('chain ls --json lists project chains before shipped ones, with stages', async () => {
    const p = project({ 'chains/single.yaml': 'stages:\n  mine: { model: quick, prompt: "{{query}}" }\n' })
    const r = await runCli(['chain', 'ls', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    const list = JSON.parse(r.stdout) as {
      name: string
      source: string
      shadowed: boolean
      stages?: { stage: string }[]
    }[]
    expect(list.find((c) => c.name === 'two')).toMatchObject({
      source: 'project',
      stages: [{ stage: 'draft' }, { stage: 'refine' }],
    })
    const singles = list.filter((c) => c.name === 'single')
    expect(singles.map((c) => [c.source, c.shadowed])).toEqual([
      ['project', false],
      ['shipped', true],
    ])
    expect(list.some((c) => c.name === 'quick-deep' && c.source === 'shipped')).toBe(true)
  })

  it('chain show prints the graph', async () => {
    const p = project()
    const r = await runCli(['chain', 'show', 'two', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    const shown = JSON.parse(r.stdout)
    expect(shown.stages).toEqual([
      expect.objectContaining({ stage: 'draft', after: [] }),
      expect.objectContaining({
        stage: 'refine',
        after: ['draft'],
        skip_when: { stage: 'draft', confidence_above: 0.9, mode: 'before start' },
      }),
    ])
    const text = await runCli(['chain', 'show', 'two'], { cwd: p.dir, env: p.env })
    expect(text.stdout).toMatch(/refine\s+deep\s+after draft/)
  })

  it('chain validate reports every problem with file:line:column and exits 1', async () => {
    const p = project({
      'chains/broken.yaml':
        'stages:\n  a:\n    model: m\n    prompt: "{{stages.zzz.output}}"\n' +
        '  b:\n    model: m\n    prompt: x\n    after: [b]\n',
      'chains/cycle.yaml':
        'stages:\n  a: { model: m, prompt: "{{stages.b.output}}" }\n  b: { model: m, prompt: "{{stages.a.output}}" }\n',
    })
    const r = await runCli(['chain', 'validate'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/chains\/broken\.yaml:4:13: CHAIN_GRAPH: stage "a" refers to stage "zzz"/)
    expect(r.stderr).toMatch(/chains\/broken\.yaml:8:\d+: CHAIN_GRAPH: stage "b" cannot depend on itself/)
    expect(r.stderr).toMatch(/chains\/cycle\.yaml:2:\d+: CHAIN_GRAPH: .*cycle: a → b → a/)
    expect(r.stdout).toMatch(/✓ chains\/two\.yaml/)
    const j = await runCli(['chain', 'validate', 'chains/two.yaml', '--json'], { cwd: p.dir, env: p.env })
    expect(j.code).toBe(0)
    expect(JSON.parse(j.stdout)).toMatchObject({
      ok: true,
      files: [{ file: 'chains/two.yaml', kind: 'chain', ok: true }],
    })
  })

  it('chain validate checks a manifest against its own schema', async () => {
    const p = project({ 'bad/manifest.yaml': 'models:\n  x: { runtime: vllm, base: a }\n' })
    const r = await runCli(['chain', 'validate', 'bad/manifest.yaml', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout)
    expect(out.files[0]).toMatchObject({
      kind: 'manifest',
      ok: false,
      errors: [expect.objectContaining({ code: 'CONFIG_INVALID', line: 2 })],
    })
  })

  it('doctor --json says Ollama is reachable and which manifest models are present', async () => {
    const p = project({ 'models/manifest.yaml': MANIFEST + '  big: { runtime: ollama, base: "llama3.1:70b" }\n' })
    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env: p.env })
    const report = JSON.parse(r.stdout)
    expect(report.runtimes).toEqual([
      expect.objectContaining({ runtime: 'ollama', ok: true, where: expect.stringContaining('127.0.0.1') }),
      expect.objectContaining({ runtime: 'llamacpp', ok: true }),
    ])
    expect(report.models).toEqual([
      expect.objectContaining({ name: 'quick', present: true }),
      expect.objectContaining({ name: 'deep', present: true }),
      expect.objectContaining({
        name: 'big',
        present: false,
        detail: expect.stringContaining('ollama pull llama3.1:70b'),
      }),
    ])
    expect(report.plugins.loaded).toContain('ModelsPlugin')
    expect(r.code).toBe(1) // a model is missing
  })

  it('doctor names the host it could not reach', async () => {
    const p = project()
    const host = `http://127.0.0.1:${await unusedPort()}`
    const r = await runCli(['doctor'], { cwd: p.dir, env: { ...p.env, OLLAMA_HOST: host } })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(new RegExp(`✗ ollama\\s+${host.replace(/[.:/]/g, '\\$&')}`))
  })

  it('every command has help with examples', async () => {
    const p = project()
    for (const cmd of [['chain', 'run'], ['chain', 'ls'], ['chain', 'show'], ['chain', 'validate'], ['doctor']]) {
      const r = await runCli([...cmd, '--help'], { cwd: p.dir, env: p.env })
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/EXAMPLES/)
      expect(r.stdout).toContain(`mirador ${cmd.join(' ')}`)
    }
  })
})
