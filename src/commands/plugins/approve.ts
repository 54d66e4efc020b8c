import { existsSync } from 'node:fs'
import path from 'node:path'
import { Args } from '@oclif/core'
import { miradorHome } from '../../cli/paths.js'
import { approve, describeManifest } from '../../cli/plugin-approval.js'
import { readPluginManifest } from '../../engine/plugin-manifest.js'
import { resolvePluginEntry } from '../../engine/plugin-resolve.js'
import { MiradorCommand } from '../base.js'

export default class PluginsApprove extends MiradorCommand {
  static summary = "Approve a project's plugin, as it is now, so that chain runs may load it."
  static description =
    "Mirador runs no code of a plugin a project's mirador.config.yaml names until you approve it: a cloned " +
    'repository must not run its code because you ran Mirador in it. Read the plugin first. PATH is the ' +
    'plugin as the config names it (its file, or its folder), relative to where you are. Approving records ' +
    'its real folder and a sha256 of every file in its package folder in $MIRADOR_HOME/plugins/approved.json ' +
    '(nothing else); when any of those files changes, runs ask again. Plugins your own ' +
    '$MIRADOR_HOME/config.yaml names need no approval.'
  static examples = [
    '<%= config.bin %> plugins approve ./plugins/my-plugin',
    '<%= config.bin %> plugins approve vendor/today --json',
  ]
  static args = {
    path: Args.string({ description: "the plugin's file or folder, as the project's config names it", required: true }),
  }

  async run(): Promise<{ name: string; version: string; dir: string; hash: string; files: number }> {
    const { args } = await this.parse(PluginsApprove)
    const cwd = process.cwd()
    // a path, even one written without ./ (never a package name: those are installed, not approved)
    const spec = path.isAbsolute(args.path) || args.path.startsWith('.') ? args.path : `./${args.path}`
    const target = path.resolve(cwd, args.path)
    // a package folder is approved as it is, whatever its entry: any file of a package leads to its package.json
    const inPackage = existsSync(path.join(target, 'package.json')) ? path.join(target, 'package.json') : undefined
    const loaded = await readPluginManifest(inPackage ?? resolvePluginEntry(spec, cwd))
    const a = await approve(miradorHome(process.env), loaded.dir)
    if (!this.jsonEnabled()) {
      this.log(`✓ approved ${loaded.name} ${loaded.version} (${a.dir}): ${a.files} files, ${a.hash}`)
      this.log(`  ${describeManifest(loaded)}`)
    }
    return { name: loaded.name, version: loaded.version, dir: a.dir, hash: a.hash, files: a.files }
  }
}
