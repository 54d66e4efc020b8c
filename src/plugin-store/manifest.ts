/**
 * A plugin's manifest as the store reads it: the loading pipeline's reader
 * (src/engine/plugin-manifest.ts), plus what publishing needs and loading does not, an npm package
 * name and a version of its own.
 */
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { readPluginManifest, type LoadedPluginManifest } from '../engine/plugin-manifest.js'

export type { LoadedPluginManifest }

const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/

/** The manifest of the package in `dir`, or MiradorError PLUGIN_MANIFEST saying what to fix. */
export async function readManifest(dir: string): Promise<LoadedPluginManifest> {
  const packageFile = path.join(dir, 'package.json')
  const loaded = await readPluginManifest(packageFile)
  const { name, version } = loaded.declared
  if (name === undefined || !PACKAGE_NAME.test(name))
    throw new MiradorError('PLUGIN_MANIFEST', `${packageFile} has no valid "name": a plugin needs an npm package name.`)
  if (!version) throw new MiradorError('PLUGIN_MANIFEST', `${packageFile} has no "version": add one, e.g. "1.0.0".`)
  return loaded
}
