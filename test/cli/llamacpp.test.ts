import { expect, it } from '@jest/globals'
import { makeProject, runCli } from '../support/cli.js'
import { describeGguf, gguf } from '../support/test-gguf.js'

describeGguf('chain run on the embedded llama.cpp runtime', () => {
  it('streams real tokens from the GGUF model end to end through the CLI', async () => {
    const p = makeProject({
      'models/manifest.yaml': `models:\n  tiny: { runtime: llamacpp, file: "\${MIRADOR_TEST_GGUF}", threads: 1, context_size: 256 }\n`,
      'chains/story.yaml':
        'stages:\n  a:\n    model: tiny\n    prompt: "{{query}}"\n    options: { temperature: 0, max_tokens: 24 }\n  b:\n    model: tiny\n    prompt: "{{query}}"\n    options: { temperature: 0, max_tokens: 12 }\n',
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
})
