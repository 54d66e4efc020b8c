/**
 * "Did you mean": a name one typo away from a known one, for commands, chains, tools, energy
 * profiles and models (a model the manifest lacks is an Ollama tag: warned at `chain validate` and
 * before it would be pulled).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { guessCommand } from '../../src/cli/command-not-found.js'
import { makeProject, runCli } from '../support/cli.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
`
const TYPO_CHAIN = 'stages:\n  a: { model: quick, prompt: "{{query}}" }\n  b: { model: deeep, prompt: "{{query}}" }\n'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer({ models: [{ name: 'llama3.2:1b' }, { name: 'qwen2.5:7b' }] })
})
afterAll(async () => {
  await server.close()
})

function project(files: Record<string, string> = {}) {
  const p = makeProject({ 'models/manifest.yaml': MANIFEST, 'chains/typo.yaml': TYPO_CHAIN, ...files })
  return { ...p, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url } }
}

describe('guessCommand', () => {
  const known = ['chain:run', 'chain:ls', 'models:load', 'models', 'chain', 'doctor']
  it('compares the first words with commands of as many words, longest first', () => {
    expect(guessCommand('chian:run:q', known)).toEqual({ guess: 'chain:run', words: 2 })
    expect(guessCommand('chain:rn', known)).toEqual({ guess: 'chain:run', words: 2 })
    expect(guessCommand('modles', known)).toEqual({ guess: 'models', words: 1 })
    expect(guessCommand('doctr:now', known)).toEqual({ guess: 'doctor', words: 1 })
    expect(guessCommand('zzzzzz', known)).toBeUndefined()
  })
})

describe('did you mean, through the CLI', () => {
  it('an unknown command is one USAGE line (exit 2) with the command meant, arguments kept', async () => {
    const p = project()
    const r = await runCli(['chian', 'run', 'quick-deep', 'hi'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      '✗ USAGE: there is no command "chian run". Did you mean `mirador chain run quick-deep hi`? ' +
        'See `mirador --help` for the commands.\n',
    )
    const none = await runCli(['zzzzzz'], { cwd: p.dir, env: p.env })
    expect(none.code).toBe(2)
    expect(none.stderr).toBe('✗ USAGE: there is no command "zzzzzz". See `mirador --help` for the commands.\n')
  })

  it('chain, tool and energy profile names', async () => {
    const p = project()
    const chain = await runCli(['chain', 'run', 'quick-dep', 'hi'], { cwd: p.dir, env: p.env })
    expect(chain.code).toBe(1)
    expect(chain.stderr).toMatch(/CONFIG_NOT_FOUND: no chain named "quick-dep" .*\. Did you mean "quick-deep"\?/)
    const tool = await runCli(['tools', 'run', 'calculat', '--args', '{}'], { cwd: p.dir, env: p.env })
    expect(tool.code).toBe(1)
    expect(tool.stderr).toMatch(/TOOL_NOT_FOUND: no tool named "calculat"\. Did you mean "calculate"\?/)
    const profile = await runCli(['chain', 'run', 'typo', 'hi', '--profile', 'balanced-'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(profile.stderr).toMatch(/no energy profile named "balanced-" \(--profile\)\. Did you mean "balanced"\?/)
  })

  it('chain validate warns about a model one typo from a manifest entry, and still exits 0', async () => {
    const p = project()
    const r = await runCli(['chain', 'validate', 'chains/typo.yaml'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/✓ chains\/typo\.yaml/)
    expect(r.stdout).toMatch(/1 file\(s\) valid\. 1 warning\(s\)\./)
    expect(r.stderr).toMatch(
      /^! chains\/typo\.yaml:3:15: warning: MODEL_UNRESOLVED: model "deeep" is not in the manifest .*Did you mean "deep"\?\n$/,
    )
    const j = await runCli(['chain', 'validate', 'chains/typo.yaml', '--json'], { cwd: p.dir, env: p.env })
    expect(j.code).toBe(0)
    expect(JSON.parse(j.stdout).files[0]).toMatchObject({
      ok: true,
      errors: [],
      warnings: [{ code: 'MODEL_UNRESOLVED', line: 3, column: 15, message: expect.stringContaining('"deep"') }],
    })
  })

  it('an unfilled template variable: a TEMPLATE warning at its prompt in chain validate, a log in a run', async () => {
    const p = project({
      'chains/vars.yaml': 'stages:\n  a:\n    model: quick\n    prompt: "{{memroy}} {{query}} {{memory}}"\n',
    })
    const j = await runCli(['chain', 'validate', 'chains/vars.yaml', '--json'], { cwd: p.dir, env: p.env })
    expect(j.code).toBe(0)
    expect(JSON.parse(j.stdout).files[0]).toMatchObject({
      ok: true,
      warnings: [{ code: 'TEMPLATE', line: 4, column: 13, message: expect.stringContaining('{{memroy}}') }],
    })
    const r = await runCli(['chain', 'run', 'vars', 'hi', '--json'], { cwd: p.dir, env: p.env })
    expect(r.code).toBe(0)
    expect(r.events.filter((e) => e.type === 'log' && e.code === 'TEMPLATE')).toEqual([
      expect.objectContaining({ level: 'warn', stage: 'a', message: expect.stringContaining('{{memroy}}') }),
    ])
  })

  it('a run warns with an event before it pulls the near-miss tag; a tag Ollama has is no typo', async () => {
    const p = project()
    const r = await runCli(['chain', 'run', 'typo', 'hi', '--json'], { cwd: p.dir, env: p.env })
    const warning = r.events.findIndex((e) => e.type === 'error' && e.code === 'MODEL_UNRESOLVED')
    expect(r.events[warning]).toMatchObject({ message: expect.stringMatching(/"deeep" .*Did you mean "deep"\?/) })
    const firstPull = r.events.findIndex((e) => e.type === 'model-pull')
    expect(firstPull).toBeGreaterThan(warning)
    expect(r.events.filter((e) => e.code === 'MODEL_UNRESOLVED')).toHaveLength(1)

    const own = await startOllamaTestServer({ models: [{ name: 'llama3.2:1b' }, { name: 'deeep' }] })
    try {
      const known = await runCli(['chain', 'run', 'typo', 'hi', '--json'], {
        cwd: p.dir,
        env: { ...p.env, OLLAMA_HOST: own.url },
      })
      expect(known.code).toBe(0)
      expect(known.events.filter((e) => e.type === 'error')).toEqual([])
    } finally {
      await own.close()
    }
  })
})
