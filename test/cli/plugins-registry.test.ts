/**
 * Plugins from an npm registry (a loopback double speaking npm's protocol, npm's cache kept in the
 * test's folder): installed by name with the registry's integrity pinned and its signature
 * verified, refused when the signature or the download is wrong, checked by name, updated.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runCli } from '../support/cli.js'
import { startNpmRegistry, type NpmRegistry } from '../support/npm-registry.js'
import { copyToday, writePackage } from '../support/plugin-packages.js'

jest.setTimeout(90_000)

let registry: NpmRegistry
beforeAll(async () => {
  registry = await startNpmRegistry()
})
afterAll(async () => {
  await registry.close()
})

function world() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-registry-test-'))
  const home = path.join(dir, 'home')
  const env = {
    MIRADOR_HOME: home,
    npm_config_cache: path.join(dir, 'npm-cache'),
    npm_config_registry: registry.url,
    // a download that fails its integrity is not tried again and again
    npm_config_fetch_retries: '0',
  }
  const cli = (args: string[]) => runCli(args, { cwd: dir, env, timeoutMs: 60_000 })
  return { dir, home, cli }
}

const lockOf = (home: string) =>
  JSON.parse(readFileSync(path.join(home, 'plugins', 'plugins.lock.json'), 'utf8')) as {
    plugins: Record<string, Record<string, unknown>>
  }

/** Today's plugin at `version`, published to the double. */
function publishToday(dir: string, version: string, opts = {}) {
  const src = copyToday(path.join(dir, `today-${version}`))
  const pkg = JSON.parse(readFileSync(path.join(src, 'package.json'), 'utf8')) as Record<string, unknown>
  // as published: the plugin API by version, which Mirador provides rather than fetches
  const dependencies = { '@mirador/plugin-api': '^0.1.0' }
  writeFileSync(path.join(src, 'package.json'), JSON.stringify({ ...pkg, version, dependencies }, null, 2))
  return registry.publish(src, opts)
}

describe('plugins from an npm registry', () => {
  it('installs by name: integrity pinned, signature verified, publisher recorded; updates to a new one', async () => {
    const w = world()
    const v1 = publishToday(w.dir, '1.0.0')
    const r = await w.cli(['plugins', 'install', 'mirador-plugin-today', '--yes'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(lockOf(w.home).plugins['mirador-plugin-today']).toMatchObject({
      version: '1.0.0',
      source: { kind: 'npm', spec: 'mirador-plugin-today', registry: registry.url },
      integrity: v1.integrity,
      publisher: 'alice',
      signatures: 'verified',
    })
    expect(registry.requests).toContain('GET /-/npm/v1/keys')
    expect(registry.requests.filter((q) => q.includes('plugin-api'))).toEqual([])
    const info = await w.cli(['plugins', 'info', 'mirador-plugin-today'])
    expect(info.stdout).toContain('  publisher:    alice')
    expect(info.stdout).toContain('  signatures:   verified')

    const same = await w.cli(['plugins', 'update', 'mirador-plugin-today', '--yes'])
    expect(same.code).toBe(0)
    expect(same.stdout).toContain('mirador-plugin-today 1.0.0 is installed already, with this very content')

    const v2 = publishToday(w.dir, '1.1.0')
    const up = await w.cli(['plugins', 'update', 'mirador-plugin-today', '--yes', '--json'])
    expect(up.code).toBe(0)
    expect(JSON.parse(up.stdout)).toMatchObject({
      installed: true,
      version: '1.1.0',
      previous: { version: '1.0.0', integrity: v1.integrity },
    })
    expect(lockOf(w.home).plugins['mirador-plugin-today']).toMatchObject({ version: '1.1.0', integrity: v2.integrity })
    const verify = await w.cli(['plugins', 'verify'])
    expect(verify.stdout.trim()).toBe('✓ mirador-plugin-today 1.1.0')

    const twice = await w.cli(['plugins', 'install', 'mirador-plugin-today@1.0.0', '--yes'])
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain('installed already: run `mirador plugins update mirador-plugin-today`')
  })

  it('refuses a version signed by a key the registry does not publish', async () => {
    const w = world()
    writePackage(path.join(w.dir, 'forged'), {
      name: 'forged-plugin',
      mirador: { apiVersion: 1, hooks: ['event'] },
      files: { 'index.js': 'export default {}\n' },
    })
    registry.publish(path.join(w.dir, 'forged'), { sign: 'rogue' })
    const r = await w.cli(['plugins', 'install', 'forged-plugin', '--yes'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^✗ PLUGIN_INTEGRITY: forged-plugin@1\.0\.0: the registry's signature is by an unknown key/,
    )
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1)
  })

  it('refuses a download that is not the integrity the registry lists', async () => {
    const w = world()
    writePackage(path.join(w.dir, 'swapped'), {
      name: 'swapped-plugin',
      mirador: { apiVersion: 1, hooks: ['event'] },
      files: { 'index.js': 'export default {}\n' },
    })
    registry.publish(path.join(w.dir, 'swapped'), { tamper: true })
    const r = await w.cli(['plugins', 'install', 'swapped-plugin', '--yes'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^✗ PLUGIN_INSTALL: downloading swapped-plugin: .*integrity/i)
  })

  it('checks a plugin by name without installing it; an unsigned registry is reported as such', async () => {
    const w = world()
    writePackage(path.join(w.dir, 'plain'), {
      name: 'unsigned-plugin',
      mirador: { apiVersion: 1, hooks: ['event'], permissions: { network: ['api.example.com'] } },
      files: { 'index.js': "export default { apply() { fetch('https://api.example.com/x') } }\n" },
    })
    registry.publish(path.join(w.dir, 'plain'), { sign: false })
    const r = await w.cli(['plugins', 'check', 'unsigned-plugin', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'unsigned-plugin', ok: true, summary: { declared: 1 } })
    const i = await w.cli(['plugins', 'install', 'unsigned-plugin', '--yes'])
    expect(i.code).toBe(0)
    expect(lockOf(w.home).plugins['unsigned-plugin']).toMatchObject({ signatures: 'none' })
  })
})
