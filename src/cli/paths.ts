/**
 * Where Mirador looks for things. Project files (./chains, ./models/manifest.yaml,
 * ./mirador.config.yaml) come first, then the user's own under $MIRADOR_HOME, then the defaults
 * shipped with Mirador, so a user copies a shipped file into the project to change it.
 */
import { existsSync, realpathSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export { PACKAGE_ROOT } from '../engine/package-root.js'
import { PACKAGE_ROOT } from '../engine/package-root.js'

/** The JSON Schemas of Mirador's YAML files, installed with it: what editors are pointed at. */
export const SCHEMAS_DIR = path.join(PACKAGE_ROOT, 'schemas')

export function miradorHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.MIRADOR_HOME ? path.resolve(env.MIRADOR_HOME) : path.join(os.homedir(), '.mirador')
}

function unique(dirs: string[]): string[] {
  return [...new Set(dirs.map((d) => path.resolve(d)))]
}

export type ChainSource = 'project' | 'user' | 'shipped'

function realDir(dir: string): string {
  try {
    return realpathSync(dir)
  } catch {
    return path.resolve(dir)
  }
}

/**
 * The chain folders in search order, each with where it comes from. Run from the Mirador package
 * itself (its checkout), ./chains is the shipped folder, and is labelled so.
 */
export function chainFolders(cwd: string, home: string): { dir: string; source: ChainSource }[] {
  const shipped = realDir(path.join(PACKAGE_ROOT, 'chains'))
  const candidates: [string, ChainSource][] = [
    [path.join(cwd, 'chains'), 'project'],
    [path.join(home, 'chains'), 'user'],
    [path.join(PACKAGE_ROOT, 'chains'), 'shipped'],
  ]
  const seen = new Set<string>()
  const out: { dir: string; source: ChainSource }[] = []
  for (const [dir, source] of candidates) {
    const real = realDir(dir)
    if (seen.has(real)) continue
    seen.add(real)
    out.push({ dir: path.resolve(dir), source: real === shipped ? 'shipped' : source })
  }
  return out
}

export function chainDirs(cwd: string, home: string): string[] {
  return chainFolders(cwd, home).map((f) => f.dir)
}

export function toolDirs(cwd: string, home: string): string[] {
  return unique([path.join(cwd, 'tools'), path.join(home, 'tools'), path.join(PACKAGE_ROOT, 'tools')])
}

export function manifestFile(cwd: string, home: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MIRADOR_MANIFEST) return path.resolve(cwd, env.MIRADOR_MANIFEST)
  return [
    path.join(cwd, 'models', 'manifest.yaml'),
    path.join(home, 'models', 'manifest.yaml'),
    path.join(PACKAGE_ROOT, 'models', 'manifest.yaml'),
  ].find((f) => existsSync(f))
}

/** Config files, most important first: --config (or MIRADOR_CONFIG), the project's, the user's. */
export function configFiles(
  cwd: string,
  home: string,
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const given = explicit ?? env.MIRADOR_CONFIG
  const project = given ? path.resolve(cwd, given) : path.join(cwd, 'mirador.config.yaml')
  const files = given ? [project] : [project].filter((f) => existsSync(f))
  const user = path.join(home, 'config.yaml')
  if (existsSync(user)) files.push(user)
  return unique(files)
}

/** Energy profile folders: ./profiles, $MIRADOR_HOME/profiles, the shipped ones. */
export function profileDirs(cwd: string, home: string): string[] {
  return unique([path.join(cwd, 'profiles'), path.join(home, 'profiles'), path.join(PACKAGE_ROOT, 'profiles')])
}
