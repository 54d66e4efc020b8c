/**
 * Commands that run no chain run no third-party plugin's code, even an approved, trusted one: they
 * read its manifest only, so chain validate/show/ls still know the stage keys and template
 * variables it declares. `chain run` does run it (the canary below can be written).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { approvePlugin, pluginPackage } from '../support/plugin-api.js'

const CANARY = `import { writeFileSync } from 'node:fs'
export default {
  name: 'Canary', apiVersion: 1,
  apply(engine) {
    writeFileSync(process.env.CANARY_FILE, 'the plugin ran')
    engine.hooks.prompt.tap('Canary', (p, ctx) => ({ ...p, vars: { ...p.vars, greeting: 'Hello ' + ctx.spec.mood } }))
  },
}
`
const CHAIN = 'stages:\n  only:\n    model: quick\n    prompt: "{{greeting}}: {{query}}"\n    mood: cheerful\n'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

describe('commands that run no chain load no third-party plugin', () => {
  it('chain ls/show/validate, doctor, memory ls, tools ls: no code of it runs; its declarations hold', async () => {
    const p = makeProject({
      'chains/moody.yaml': CHAIN,
      'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n',
      'plugins/canary.js': CANARY,
      'plugins/package.json': pluginPackage({
        templateVars: ['greeting'],
        stageKeys: { mood: { type: 'string', enum: ['cheerful', 'grim'] } },
      }),
      'mirador.config.yaml': 'plugins: [{ name: ./plugins/canary.js, trusted: true }]\n',
    })
    await approvePlugin(p.home, path.join(p.dir, 'plugins'))
    const canary = path.join(p.dir, 'canary.txt')
    const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, CANARY_FILE: canary }
    const run = (args: string[]) => runCli(args, { cwd: p.dir, env })

    const validate = await run(['chain', 'validate', 'chains/moody.yaml', '--json'])
    expect(JSON.parse(validate.stdout)).toMatchObject({ ok: true })
    expect(validate.stdout).not.toContain('greeting')
    expect(validate.code).toBe(0)
    const ls = await run(['chain', 'ls', '--json'])
    expect(ls.stdout).toContain('moody')
    expect(ls.stdout).not.toContain('CONFIG_INVALID')
    expect((await run(['chain', 'show', 'moody'])).code).toBe(0)
    const doctor = JSON.parse((await run(['doctor', '--json'])).stdout)
    expect(doctor.plugins.failed).toEqual([])
    await run(['memory', 'ls'])
    await run(['tools', 'ls'])
    expect(existsSync(canary)).toBe(false)

    // the chain key is refused when the plugin is not there to declare it
    const bare = makeProject({ 'chains/moody.yaml': CHAIN })
    const refused = await runCli(['chain', 'validate', 'chains/moody.yaml'], { cwd: bare.dir, env })
    expect(refused.code).toBe(1)
    expect(refused.stdout + refused.stderr).toMatch(/moody\.yaml:5:5: .*mood/)

    // a chain run does load it
    const r = await run(['chain', 'run', 'moody', 'hi', '--json'])
    expect(r.code).toBe(0)
    expect(existsSync(canary)).toBe(true)
    expect(server.requests.at(-1)?.body.messages.at(-1).content).toBe('Hello cheerful: hi')
  })
})
