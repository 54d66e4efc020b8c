/**
 * `plugins check` for `npm run bench` (section `plugin-check`): the whole process (start-up
 * included) on the example plugin (examples/plugins/today, with its manifest) and on a generated
 * 5 MB package (real JavaScript from installed libraries, as the `checks` section generates it),
 * against `plugins ls` (the same start-up, no check) and against the analyzer alone in a fresh
 * Node process (cold, as the CLI's is: in a warm process the analyzer runs about twice as fast).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { median, timeChild } from './lib.js'
import { makePackage } from './static-analysis.js'

export interface PluginCheckBench {
  todayP50: number
  lsP50: number
  pkg: { mb: number; files: number; checkP50: number; analyzeP50: number }
}

const MANIFEST = { apiVersion: 1, hooks: ['prompt'], templateVars: ['today'], permissions: {} }

function withManifest(dir: string): void {
  const file = path.join(dir, 'package.json')
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  pkg.mirador ??= MANIFEST
  writeFileSync(file, JSON.stringify(pkg, null, 2))
}

export async function benchPluginCheck(root: string, bin: string, runs: number): Promise<PluginCheckBench> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-plugin-check-'))
  const env = { ...process.env, MIRADOR_HOME: path.join(work, 'home'), MIRADOR_MEMORY: 'off', NO_COLOR: '1' }
  const today = path.join(work, 'today')
  cpSync(path.join(root, 'examples', 'plugins', 'today'), today, { recursive: true })
  withManifest(today)
  const check: number[] = []
  const ls: number[] = []
  for (let i = 0; i < runs; i++) {
    const r = await timeChild(process.execPath, [bin, 'plugins', 'check', today], { cwd: work, env })
    if (r.code !== 0) throw new Error(`plugins check on the example plugin failed:\n${r.stdout}`)
    check.push(r.exit)
    ls.push((await timeChild(process.execPath, [bin, 'plugins', 'ls'], { cwd: work, env })).exit)
  }

  const pkg = makePackage(root, 5 * 1024 * 1024)
  writeFileSync(
    path.join(pkg.dir, 'package.json'),
    JSON.stringify({ name: 'bench-5mb', version: '1.0.0', mirador: { apiVersion: 1, hooks: ['event'] } }),
  )
  const big: number[] = []
  const analyze: number[] = []
  let files = 0
  const analyzer = pathToFileURL(path.join(root, 'dist', 'lib', 'static-analysis', 'index.js')).href
  const alone =
    `const { analyzePaths } = await import(${JSON.stringify(analyzer)}); ` +
    `const r = await analyzePaths([${JSON.stringify(pkg.dir)}], { profile: 'plugin' }); console.log(r.files)`
  for (let i = 0; i < Math.min(runs, 3); i++) {
    big.push((await timeChild(process.execPath, [bin, 'plugins', 'check', pkg.dir, '--json'], { cwd: work, env })).exit)
    const a = await timeChild(process.execPath, ['--input-type=module', '-e', alone], { cwd: work, env })
    files = Number(a.stdout.trim())
    analyze.push(a.exit)
  }
  rmSync(pkg.dir, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
  return {
    todayP50: median(check),
    lsP50: median(ls),
    pkg: { mb: pkg.bytes / 1024 / 1024, files, checkP50: median(big), analyzeP50: median(analyze) },
  }
}
