/**
 * Where installed plugins live: $MIRADOR_HOME/plugins is an npm-style folder (package.json,
 * package-lock.json, node_modules) that Mirador alone changes, with the tarballs it installed from,
 * its own lock file (what was checked and pinned) and the user's allow/deny list.
 */
import path from 'node:path'

export interface StorePaths {
  dir: string
  packageJson: string
  nodeModules: string
  tarballs: string
  lock: string
  policy: string
  /** the user's config, where installed plugins are enabled */
  config: string
}

export function storeDir(home: string): string {
  return path.join(home, 'plugins')
}

/** Where a plugin named by package name in a config file is also looked for. */
export function storeNodeModules(home: string): string {
  return path.join(storeDir(home), 'node_modules')
}

export function storePaths(home: string): StorePaths {
  const dir = storeDir(home)
  return {
    dir,
    packageJson: path.join(dir, 'package.json'),
    nodeModules: storeNodeModules(home),
    tarballs: path.join(dir, 'tarballs'),
    lock: path.join(dir, 'plugins.lock.json'),
    policy: path.join(dir, 'policy.json'),
    config: path.join(home, 'config.yaml'),
  }
}
