/**
 * The newcomer fixes of memory's commands, through the real CLI on the real bundled Chroma server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

function project(files: Record<string, string> = {}) {
  const p = makeProject({
    'chains/single.yaml': 'stages:\n  answer: { model: "llama3.2:1b", prompt: "{{memory}}\\n{{query}}" }\n',
    ...files,
  })
  homes.push(p.home)
  const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' }
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env })
  return { ...p, env, cli }
}

describe('memory commands, as a newcomer meets them', () => {
  it('only stages whose prompt or system uses {{memory}} get a memory event; none: no recall at all', async () => {
    const p = project({
      'chains/two.yaml':
        'stages:\n' +
        '  answer: { model: "llama3.2:1b", prompt: "{{query}}", system: "Known: {{ memory }}" }\n' +
        '  polish: { model: "llama3.2:1b", prompt: "Polish: {{stages.answer.output}}" }\n',
      'chains/plain.yaml': 'stages:\n  only: { model: "llama3.2:1b", prompt: "{{query}}" }\n',
    })
    await p.cli(['chain', 'run', 'single', 'My dentist is Dr Zanetti', '--no-stream'])
    const two = await p.cli(['chain', 'run', 'two', 'Who is my dentist?', '--json'])
    expect(two.code).toBe(0)
    expect(two.events.filter((e) => e.type === 'memory').map((e) => e.stage)).toEqual(['answer'])
    const text = await p.cli(['chain', 'run', 'two', 'Who is my dentist?'])
    expect(text.stdout).toMatch(/\[memory\] answer: recalled/)
    expect(text.stdout).not.toMatch(/\[memory\] polish/)

    const plain = await p.cli(['chain', 'run', 'plain', 'Who is my dentist?', '--json'])
    expect(plain.code).toBe(0)
    expect(plain.events.filter((e) => e.type === 'memory')).toEqual([])
    // nothing was put into a prompt, so nothing counts as recalled
    const ls = JSON.parse((await p.cli(['memory', 'ls', '--json'])).stdout)
    const dentist = ls.memories.find((m: { text: string }) => m.text.includes('Zanetti') && m.text.startsWith('Q: My'))
    expect(dentist.meta.recalls).toBe(2)
  })
})
