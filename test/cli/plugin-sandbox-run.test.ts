/**
 * `chain run` with a sandboxed plugin, through the real CLI: the plugin's host process
 * runs during the run and is gone as soon as the command has exited (the command disposes its
 * engine, which stops the hosts), leaving no process behind.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { pluginPackage } from '../support/plugin-api.js'

/** tells the run which process it is in */
const PID_PLUGIN = `export default {
  name: 'Pid', apiVersion: 1,
  apply(engine) {
    engine.hooks.prompt.tap('Pid', (p, ctx) => {
      ctx.emit({ type: 'host-pid', pid: process.pid })
      return p
    })
  },
}
`

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

/** The processes whose command line names `text`. */
function processesNaming(text: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)
      } catch {
        return false
      }
    })
}

describe('a sandboxed plugin in a command that runs a chain', () => {
  it('`chain run`: its host runs, and is gone when the command exits', async () => {
    const p = makeProject({
      'chains/one.yaml': 'stages:\n  only:\n    model: quick\n    prompt: "{{query}}"\n',
      'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n',
      'vendor/pid/index.js': PID_PLUGIN,
      'vendor/pid/package.json': pluginPackage({}, { name: 'pid-plugin', version: '1.0.0' }),
    })
    const dir = realpathSync(path.join(p.dir, 'vendor', 'pid'))
    // the user's own config: no approval needed
    writeFileSync(path.join(p.home, 'config.yaml'), `plugins: [${dir}]\n`)
    const r = await runCli(['chain', 'run', 'one', 'hi', '--json'], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url },
    })
    expect(r.events.filter((e) => e.type === 'error')).toEqual([])
    expect(r.code).toBe(0)
    const pid = Number(r.events.find((e) => e.type === 'host-pid')?.pid)
    expect(pid).toBeGreaterThan(0)
    // gone already, not only soon: the command waited for its hosts to stop before it exited
    expect(existsSync(`/proc/${pid}`)).toBe(false)
    expect(processesNaming(dir)).toEqual([])
  })
})
