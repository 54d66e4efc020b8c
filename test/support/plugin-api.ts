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

/** A plugin package's package.json: ES modules, declaring `manifest` (default: the prompt hook only). */
export function pluginPackage(manifest: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: 'module', ...extra, mirador: { apiVersion: 1, hooks: ['prompt'], ...manifest } })
}

/** Approves the plugin package in `dir` for MIRADOR_HOME `home`, as `mirador plugins approve` does. */
export async function approvePlugin(home: string, dir: string): Promise<void> {
  const { approve } = await import('../../src/cli/plugin-approval.js')
  await approve(home, dir)
}
