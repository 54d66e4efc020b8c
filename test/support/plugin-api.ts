/**
 * A project's dependency on @mirador/plugin-api, as `npm install PATH/TO/mirador/packages/plugin-api`
 * makes it: node_modules/@mirador/plugin-api, a link to this checkout's package (built by
 * `npm run build`).
 */
import { mkdirSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './cli.js'

export const PLUGIN_API_DIR = path.join(ROOT, 'packages', 'plugin-api')

export function installPluginApi(projectDir: string): void {
  const scope = path.join(projectDir, 'node_modules', '@mirador')
  mkdirSync(scope, { recursive: true })
  symlinkSync(PLUGIN_API_DIR, path.join(scope, 'plugin-api'), 'dir')
}
