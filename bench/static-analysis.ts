/**
 * The static analyzer's numbers for `npm run bench` (section `checks`):
 *
 * - `mirador tools check` on the shipped tools, the whole process (start-up included), against
 *   `mirador tools ls` (the same start-up and tool loading, no parser);
 * - the analyzer's throughput on a generated 5 MB package (real JavaScript: the files of a few
 *   installed libraries, copied until the package is 5 MB), against parsing the same files with
 *   acorn alone: what the walk and the rules add. Issue 12 asks for `plugins check` on a 5 MB
 *   package; this is the analyzer it will run;
 * - a tool's argument check with the red team's pattern `^(a+)+$` (RE2, through the tools
 *   registry's ajv) against JavaScript's backtracking RegExp on a shorter input.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { analyzePaths, JS_FILE } from '../src/lib/static-analysis/index.js'
import { parseSource } from '../src/lib/static-analysis/parse.js'
import { loadTool } from '../src/plugins/tools/registry.js'
import { median, timeChild } from './lib.js'

export interface CheckBench {
  cli: { checkP50: number; lsP50: number; tools: number }
  pkg: { files: number; bytes: number; findings: number; analyzeP50: number; parseP50: number }
  redos: { re2At28: number; re2At10k: number; jsAt24: number }
}

/** Real JavaScript from installed libraries, copied into a package folder until it holds `target` bytes. */
export function makePackage(root: string, target: number): { dir: string; files: string[]; bytes: number } {
  const sources: string[] = []
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile() && JS_FILE.test(e.name)) sources.push(p)
    }
  }
  for (const lib of ['ajv/dist', 'yaml/dist', 'tapable/lib', 'minimatch/dist', 'ollama/dist', '@oclif/core/lib'])
    walk(path.join(root, 'node_modules', lib))
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-pkg-'))
  writeFileSync(path.join(dir, 'package.json'), '{"name":"bench-5mb","version":"1.0.0","type":"commonjs"}\n')
  let bytes = 0
  const files: string[] = []
  for (let round = 0; bytes < target; round++)
    for (const src of sources) {
      if (bytes >= target) break
      const to = path.join(dir, 'lib', String(round), path.relative(root, src))
      mkdirSync(path.dirname(to), { recursive: true })
      copyFileSync(src, to)
      bytes += statSync(to).size
      files.push(to)
    }
  return { dir, files, bytes }
}

async function timed(fn: () => unknown, runs: number): Promise<number> {
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await fn()
    ms.push(performance.now() - t0)
  }
  return median(ms)
}

export async function benchChecks(root: string, bin: string, runs: number): Promise<CheckBench> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-home-'))
  const env = { ...process.env, MIRADOR_HOME: home, MIRADOR_MEMORY: 'off', NO_COLOR: '1' }
  const tools = path.join(root, 'tools')
  const check: number[] = []
  const ls: number[] = []
  for (let i = 0; i < runs; i++) {
    check.push((await timeChild(process.execPath, [bin, 'tools', 'check', tools], { cwd: home, env })).exit)
    ls.push((await timeChild(process.execPath, [bin, 'tools', 'ls'], { cwd: home, env })).exit)
  }

  const pkg = makePackage(root, 5 * 1024 * 1024)
  let analyzed = { files: 0, findings: 0 }
  const analyzeP50 = await timed(async () => {
    const r = await analyzePaths([pkg.dir])
    analyzed = { files: r.files, findings: r.findings.length }
  }, 3)
  const sources = pkg.files.map((f) => [f, readFileSync(f, 'utf8')] as const)
  const parseP50 = await timed(() => sources.forEach(([f, text]) => parseSource(f, text)), 3)
  rmSync(pkg.dir, { recursive: true, force: true })

  const toolDir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-redos-'))
  writeFileSync(
    path.join(toolDir, 'redos.yaml'),
    'name: redos\ndescription: x\nsource: redos.mjs\n' +
      'parameters: { type: object, properties: { s: { type: string, pattern: "^(a+)+$" } } }\n',
  )
  writeFileSync(path.join(toolDir, 'redos.mjs'), 'export default () => 1\n')
  const tool = await loadTool(path.join(toolDir, 'redos.yaml'))
  const re2At28 = await timed(() => tool.validate({ s: `${'a'.repeat(28)}!` }), runs)
  const re2At10k = await timed(() => tool.validate({ s: `${'a'.repeat(10_000)}!` }), runs)
  const backtracking = /^(a+)+$/u
  const jsAt24 = await timed(() => backtracking.test(`${'a'.repeat(24)}!`), 3)
  rmSync(toolDir, { recursive: true, force: true })
  rmSync(home, { recursive: true, force: true })
  return {
    cli: { checkP50: median(check), lsP50: median(ls), tools: 3 },
    pkg: { ...analyzed, bytes: pkg.bytes, analyzeP50, parseP50 },
    redos: { re2At28, re2At10k, jsAt24 },
  }
}
