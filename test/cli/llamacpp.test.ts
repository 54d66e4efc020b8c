import { describe, expect, it } from '@jest/globals'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { makeProject, runCli } from '../support/cli.js'
import { gguf, itGguf } from '../support/test-gguf.js'

describe('chain run on the embedded llama.cpp runtime', () => {
  itGguf('streams real tokens from the GGUF model end to end through the CLI (raw completion)', async () => {
    const p = makeProject({
      'models/manifest.yaml':
        'models:\n  tiny: { runtime: llamacpp, file: "${MIRADOR_TEST_GGUF}", threads: 1, context_size: 256, ' +
        'chat_wrapper: none }\n',
      'chains/story.yaml':
        'stages:\n  a:\n    model: tiny\n    prompt: "{{query}}"\n    options: { temperature: 0, max_tokens: 24 }\n' +
        '  b:\n    model: tiny\n    prompt: "{{query}}"\n    options: { temperature: 0, max_tokens: 12 }\n',
    })
    const r = await runCli(['chain', 'run', 'story', 'Once upon a time', '--json'], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home, MIRADOR_TEST_GGUF: gguf() },
      timeoutMs: 60000,
    })
    expect(r.code).toBe(0)
    const tokens = (s: string) => r.events.filter((e) => e.type === 'token' && e.stage === s)
    expect(tokens('a')).toHaveLength(24)
    expect(tokens('b')).toHaveLength(12)
    const text = tokens('a')
      .map((e) => e.text)
      .join('')
    expect(text.startsWith(', there was a little girl named Lily.')).toBe(true)
    const ends = r.events.filter((e) => e.type === 'stage-end')
    for (const e of ends) expect(e).toMatchObject({ confidenceSource: 'logprobs', model: 'stories260K.gguf' })
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true, stage: 'b' })
  })

  // README, "No Ollama?": the shipped local-story chain and manifest, MIRADOR_GGUF typed relative to
  // the folder the user is in (the project has no models/ of its own, so the shipped manifest is used)
  itGguf("the README's 'No Ollama?' command works with a path relative to the working folder", async () => {
    const p = makeProject({})
    const cwd = path.join(p.dir, 'work')
    mkdirSync(cwd)
    const r = await runCli(['chain', 'run', 'local-story', 'Once upon a time', '--json'], {
      cwd,
      env: { MIRADOR_HOME: p.home, MIRADOR_GGUF: path.relative(cwd, gguf()) },
      timeoutMs: 60000,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true, models: ['stories260K.gguf'] })
  })

  it('a missing GGUF file is a clear MODEL_MISSING saying where it looked; nothing is "pulled"', async () => {
    const p = makeProject({})
    const cwd = path.join(p.dir, 'work')
    mkdirSync(cwd)
    const env = { MIRADOR_HOME: p.home, MIRADOR_GGUF: '../shared/none.gguf' }
    const json = await runCli(['chain', 'run', 'local-story', 'Once upon a time', '--json'], { cwd, env })
    expect(json.code).toBe(1)
    expect(json.events.filter((e) => e.type === 'model-pull')).toEqual([])
    const errors = json.events.filter((e) => e.type === 'error')
    expect(errors.map((e) => e.code)).toEqual(['MODEL_MISSING', 'MODEL_MISSING'])
    expect(errors[0]!.message).toMatch(/manifest\.yaml:\d+:\d+: model "local": the GGUF file /)
    expect(errors[0]!.message).toContain(
      `${path.join(p.dir, 'shared/none.gguf')} does not exist ` +
        `($MIRADOR_GGUF is "../shared/none.gguf", read from the working folder ${cwd}).`,
    )
    const text = await runCli(['chain', 'run', 'local-story', 'Once upon a time'], { cwd, env })
    expect(text.code).toBe(1)
    expect(text.stdout + text.stderr).not.toMatch(/pulling/)
    expect(text.stderr).toMatch(/MODEL_MISSING: .*does not exist/)
  })
})
