/**
 * `mirador doctor` on third-party plugins, with the real CLI: how many the config names and how each
 * would run (trusted in process, sandboxed, a project's not approved yet), and the network barrier a
 * sandbox gets on this machine; none of their code runs and no sandbox host starts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { approvePlugin, pluginPackage } from '../support/plugin-api.js'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

/** What this machine gives a sandbox, found as the sandbox's probe would: can `unshare` make a network namespace? */
function expectedBarrier(): 'namespace' | 'js-only' {
  const tries = process.getuid?.() === 0 ? [['-n'], ['-rn']] : [['-rn']]
  for (const flags of tries) {
    try {
      execFileSync('unshare', [...flags, process.execPath, '-e', '0'], { stdio: 'ignore', timeout: 5000 })
      return 'namespace'
    } catch {
      // not here
    }
  }
  return 'js-only'
}

/** A plugin leaving a file in `marks` as soon as its module loads, in process or sandboxed (it may write there). */
function marker(name: string, marks: string) {
  return {
    [`vendor/${name}/index.js`]:
      `import { writeFileSync } from 'node:fs'\nwriteFileSync(${JSON.stringify(path.join(marks, name))}, 'ran')\n` +
      `export default { name: '${name}', apiVersion: 1, apply: (e) => e.hooks.prompt.tap('${name}', (p) => p) }\n`,
    [`vendor/${name}/package.json`]: pluginPackage(
      { permissions: { fs: { write: [marks] } } },
      { name: `${name}-plugin`, version: '1.0.0' },
    ),
  }
}

interface ThirdParty {
  configured: number
  trusted: number
  sandboxed: number
  unapproved: number
  unapprovedDirs: string[]
  network: { barrier: string; detail: string }
}

describe('mirador doctor: third-party plugins', () => {
  it('counts them trusted / sandboxed / not approved and names the network barrier, running none', async () => {
    const p = makeProject({ 'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n' })
    const marks = path.join(p.dir, 'marks')
    mkdirSync(marks)
    const files = { ...marker('usera', marks), ...marker('userb', marks), ...marker('proja', marks) }
    Object.assign(files, marker('projb', marks))
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(p.dir, rel)), { recursive: true })
      writeFileSync(path.join(p.dir, rel), text)
    }
    const dir = (name: string) => realpathSync(path.join(p.dir, 'vendor', name))
    // the user's own: one trusted, one sandboxed; the project's: one approved (sandboxed), one not
    writeFileSync(
      path.join(p.home, 'config.yaml'),
      `plugins: [{ name: ${dir('usera')}, trusted: true }, ${dir('userb')}]\n`,
    )
    writeFileSync(
      path.join(p.dir, 'mirador.config.yaml'),
      'plugins: [./vendor/proja, { name: ./vendor/projb, trusted: true }]\n',
    )
    await approvePlugin(p.home, dir('proja'))
    const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url }

    const r = await runCli(['doctor', '--json'], { cwd: p.dir, env, timeoutMs: 60_000 })
    expect(r.code).toBe(0)
    const t = (JSON.parse(r.stdout) as { plugins: { thirdParty: ThirdParty } }).plugins.thirdParty
    const barrier = expectedBarrier()
    expect(t).toMatchObject({ configured: 4, trusted: 1, sandboxed: 2, unapproved: 1, unapprovedDirs: [dir('projb')] })
    expect(t.network.barrier).toBe(barrier)

    const text = await runCli(['doctor'], { cwd: p.dir, env, timeoutMs: 60_000 })
    expect(text.stdout).toContain('  ! third-party 4: 1 trusted (in process), 2 sandboxed, 1 not approved\n')
    expect(text.stdout).toContain(`      approve after reading it: mirador plugins approve ${dir('projb')}\n`)
    expect(text.stdout).toMatch(new RegExp(`^  ${barrier === 'namespace' ? '✓' : '!'} network +${barrier}: `, 'm'))
    // no plugin's module was loaded, in process or in a sandbox
    expect(readdirSync(marks)).toEqual([])
    expect(existsSync(path.join(marks, 'usera'))).toBe(false)
  })

  it('with no third-party plugin: 0 configured, all well', async () => {
    const p = makeProject({ 'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n' })
    const r = await runCli(['doctor'], { cwd: p.dir, env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url } })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('  ✓ third-party 0: 0 trusted (in process), 0 sandboxed, 0 not approved\n')
  })
})
