/**
 * Install scripts: what npm would run when a package is installed. Mirador never runs them (every
 * npm call passes --ignore-scripts), so a plugin that needs one, itself or in a dependency, would
 * arrive broken or would need code run with the user's full rights: it is refused, with the
 * reason. npm runs `node-gyp rebuild` on its own for a package with a binding.gyp and no install
 * script (a native addon), which counts too.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

export const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const

export interface InstallScript {
  /** the package that has it */
  package: string
  /** its folder */
  dir: string
  script: string
  command: string
}

/** The install scripts npm would run for the package in `dir` (its package.json already parsed). */
export function installScriptsOf(dir: string, pkg: Record<string, unknown>): InstallScript[] {
  const name = typeof pkg.name === 'string' ? pkg.name : path.basename(dir)
  const scripts = (pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts : {}) as Record<string, unknown>
  const out: InstallScript[] = INSTALL_SCRIPTS.filter((s) => typeof scripts[s] === 'string').map((s) => ({
    package: name,
    dir,
    script: s,
    command: String(scripts[s]),
  }))
  const implicitGyp =
    pkg.gypfile !== false && !scripts.install && !scripts.preinstall && existsSync(path.join(dir, 'binding.gyp'))
  if (implicitGyp) out.push({ package: name, dir, script: 'install', command: 'node-gyp rebuild (binding.gyp)' })
  return out
}

async function readPackage(dir: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'))
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Every package folder under `nodeModules` (scoped ones and nested node_modules too), links not followed. */
export async function packagesUnder(nodeModules: string): Promise<string[]> {
  const out: string[] = []
  const visit = async (nm: string): Promise<void> => {
    const entries = await readdir(nm, { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue
      const p = path.join(nm, e.name)
      if (e.name.startsWith('@')) {
        for (const s of await readdir(p, { withFileTypes: true }).catch(() => []))
          if (s.isDirectory()) {
            out.push(path.join(p, s.name))
            await visit(path.join(p, s.name, 'node_modules'))
          }
      } else {
        out.push(p)
        await visit(path.join(p, 'node_modules'))
      }
    }
  }
  await visit(nodeModules)
  return out.sort()
}

/** The install scripts of the package in `dir` and of its dependencies (their folders). */
export async function findInstallScripts(dir: string, dependencies: string[] = []): Promise<InstallScript[]> {
  const own = await readPackage(dir)
  const out = own ? installScriptsOf(dir, own) : []
  for (const dep of dependencies) {
    const pkg = await readPackage(dep)
    if (pkg) out.push(...installScriptsOf(dep, pkg))
  }
  return out
}
