/** Plugin packages for the store's tests, written into throw-away folders. */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './cli.js'

export interface PackageSpec {
  name: string
  version?: string
  mirador?: unknown
  scripts?: Record<string, string>
  dependencies?: Record<string, string>
  files: Record<string, string>
}

/** Writes a package folder `dir` (package.json from `spec`, then its files). */
export function writePackage(dir: string, spec: PackageSpec): string {
  mkdirSync(dir, { recursive: true })
  const pkg = {
    name: spec.name,
    version: spec.version ?? '1.0.0',
    type: 'module',
    exports: './index.js',
    ...(spec.scripts ? { scripts: spec.scripts } : {}),
    ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
    ...(spec.mirador === undefined ? {} : { mirador: spec.mirador }),
  }
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  for (const [rel, text] of Object.entries(spec.files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    writeFileSync(path.join(dir, rel), text)
  }
  return dir
}

export const TODAY_MANIFEST = { apiVersion: 1, hooks: ['prompt'], templateVars: ['today'], permissions: {} }

/**
 * A copy of examples/plugins/today in `dir`, with its manifest (added when the example has none
 * yet) and its @mirador/plugin-api dependency pointing at this checkout's package.
 */
export function copyToday(dir: string): string {
  cpSync(path.join(ROOT, 'examples', 'plugins', 'today'), dir, { recursive: true })
  const file = path.join(dir, 'package.json')
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  pkg.mirador ??= TODAY_MANIFEST
  pkg.dependencies = { '@mirador/plugin-api': `file:${path.join(ROOT, 'packages', 'plugin-api')}` }
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`)
  return dir
}
