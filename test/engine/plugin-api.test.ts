/**
 * @mirador/plugin-api (packages/plugin-api, built by `npm run build`) as a plugin's author gets it:
 * installed in a project of its own, type-checked by tsc with nothing else from Mirador, imported
 * by Node. Its MiradorError must be the very class the engine's modules use.
 */
import { describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../support/cli.js'
import { installPluginApi, PLUGIN_API_DIR } from '../support/plugin-api.js'

const run = promisify(execFile)
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'plugin-api', 'greeting-plugin.ts')

/** A project holding one plugin source, a plain tsconfig and the package, as an author sets one up. */
function authorProject(source: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-plugin-author-'))
  writeFileSync(path.join(dir, 'plugin.ts'), source)
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [] },
      files: ['plugin.ts'],
    }),
  )
  installPluginApi(dir)
  return dir
}

async function typeCheck(dir: string): Promise<{ code: number; out: string }> {
  try {
    await run(process.execPath, [TSC, '--noEmit', '-p', dir])
    return { code: 0, out: '' }
  } catch (err) {
    const e = err as { code: number; stdout: string }
    return { code: e.code, out: e.stdout }
  }
}

describe('@mirador/plugin-api', () => {
  it('is a package with exports and types, at the version of Mirador it comes with', () => {
    const pkg = JSON.parse(readFileSync(path.join(PLUGIN_API_DIR, 'package.json'), 'utf8'))
    const mirador = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    expect(pkg).toMatchObject({ name: '@mirador/plugin-api', version: mirador.version, type: 'module' })
    const entry = pkg.exports['.']
    // the types are tsc's declarations of src/engine/plugin-api.ts, next to the module they describe
    expect(entry.types).toBe(pkg.types)
    expect(readFileSync(path.join(PLUGIN_API_DIR, entry.types), 'utf8')).toContain(
      "export { validatePluginOptions } from './plugin-options.js'",
    )
    expect(readFileSync(path.join(PLUGIN_API_DIR, entry.default), 'utf8')).toContain('dist/engine/plugin-api.js')
  })

  it("the CLI bundle imports the engine's errors module instead of holding a copy of the class", () => {
    const bundle = readFileSync(path.join(ROOT, 'dist', 'mirador.js'), 'utf8')
    expect(bundle).toMatch(/import \{ MiradorError[^}]*\} from "\.\/engine\/errors\.js"/)
    expect(bundle).not.toMatch(/\bclass _*MiradorError\d*\b/) // esbuild names an inlined copy `class _MiradorError`
  })

  it('a plugin written against it alone type-checks (tsc --noEmit)', async () => {
    const dir = authorProject(readFileSync(FIXTURE, 'utf8'))
    expect(await typeCheck(dir)).toEqual({ code: 0, out: '' })
  }, 60_000)

  it('its types are real: a wrong hook, a wrong return and a made-up error code are refused', async () => {
    const broken = readFileSync(FIXTURE, 'utf8')
      .replace('engine.hooks.event.tap', 'engine.hooks.events.tap')
      .replace('return { ...prompt, vars:', 'return { ...prompt, template: 42, vars:')
      .replace("new MiradorError('MODEL_MISSING'", "new MiradorError('MODEL_GONE'")
    const r = await typeCheck(authorProject(broken))
    expect(r.code).not.toBe(0)
    expect(r.out).toMatch(/Property 'events' does not exist/)
    expect(r.out).toMatch(/Type 'number' is not assignable to type 'string'/)
    expect(r.out).toMatch(/'"MODEL_GONE"' is not assignable to parameter of type '"CONFIG_NOT_FOUND" \|/)
  }, 60_000)

  it("at run time it gives the engine's own MiradorError and validatePluginOptions", async () => {
    const dir = authorProject('')
    const script = path.join(dir, 'check.mjs')
    writeFileSync(
      script,
      `import * as api from '@mirador/plugin-api'
import { MiradorError } from ${JSON.stringify(path.join(ROOT, 'dist', 'engine', 'errors.js'))}
const out = { same: api.MiradorError === MiradorError, exports: Object.keys(api).sort() }
try {
  api.validatePluginOptions('P', { type: 'object', additionalProperties: false, properties: {} }, { x: 1 })
} catch (err) {
  out.code = err.code
  out.isMiradorError = err instanceof MiradorError
}
console.log(JSON.stringify(out))
`,
    )
    const { stdout } = await run(process.execPath, [script], { cwd: dir })
    expect(JSON.parse(stdout)).toEqual({
      same: true,
      exports: ['API_VERSION', 'ERROR_CODES', 'MiradorError', 'validatePluginOptions'],
      code: 'PLUGIN_OPTIONS',
      isMiradorError: true,
    })
  })
})
