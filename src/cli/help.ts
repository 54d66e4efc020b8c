/**
 * Mirador's help (oclif's `helpClass`): oclif's own, plus the commands of enabled plugins, read from
 * their manifests (no plugin code runs): a PLUGIN COMMANDS section in `mirador --help`, each marked
 * with its plugin, and `mirador NAME --help` for one of them. Plugin commands refused (named like a
 * built-in or like another plugin's) are reported on standard error, one line each.
 *
 * A plugin's texts never reach oclif's templates as templates: oclif renders help text with ejs,
 * which would run `<% … %>` in a manifest as code in Mirador's process.
 */
import { Help, type Command } from '@oclif/core'
import { MiradorError } from '../engine/errors.js'
import type { PluginCommand, PluginCommandCatalog } from './plugin-commands/catalog.js'
import { builtinWords } from './plugin-commands/names.js'
import { safeText } from './render/format.js'

/**
 * Text shown as it is: control characters escaped, and no ejs tag (a zero-width space parts `<%` and
 * `%>`). Not ejs's own `<%%` escape: oclif renders some texts twice (a list row, then its section).
 */
function inert(text: string): string {
  return safeText(text).replaceAll('<%', '<\u200b%').replaceAll('%>', '%\u200b>')
}

/** A plugin command in the shape oclif's command help formats. */
function asOclifCommand(c: PluginCommand): Command.Loadable {
  const { spec } = c
  const flags: Record<string, Command.Flag.Cached> = {}
  for (const [name, f] of Object.entries(spec.flags)) {
    const common = { name, description: inert(f.description), ...(f.char ? { char: f.char as 'a' } : {}) }
    flags[name] = f.type === 'boolean' ? { ...common, type: 'boolean', allowNo: false } : { ...common, type: 'option' }
  }
  const args: Record<string, Command.Arg.Cached> = {}
  for (const a of spec.args) args[a.name] = { name: a.name, description: inert(a.description), required: a.required }
  return {
    id: c.words.join(':'),
    summary: inert(spec.summary),
    ...(spec.description ? { description: inert(spec.description) } : {}),
    examples: spec.examples.map(inert),
    flags,
    args,
    aliases: [],
    hidden: false,
    hiddenAliases: [],
    pluginName: c.loaded.name,
    load: () => Promise.reject(new MiradorError('INTERNAL', `${c.name} is a plugin's command, not oclif's`)),
  }
}

export default class MiradorHelp extends Help {
  #catalog?: Promise<PluginCommandCatalog>

  protected catalog(): Promise<PluginCommandCatalog> {
    // loaded only for help, and read only when a config file exists (catalog.ts)
    this.#catalog ??= Promise.all([builtinWords(this.config), import('./plugin-commands/catalog.js')]).then(
      ([builtins, { pluginCommands }]) => pluginCommands({ cwd: process.cwd(), env: process.env, builtins }),
    )
    return this.#catalog
  }

  #reportProblems(catalog: PluginCommandCatalog): void {
    for (const p of catalog.problems) process.stderr.write(`✗ ${p.code}: ${safeText(p.format())}\n`)
  }

  protected async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    const catalog = await this.catalog()
    const listed = catalog.commands.filter((c) => !c.unapproved)
    if (listed.length) {
      const rows = listed.map((c) => [c.name, `${inert(c.spec.summary)} [${inert(c.loaded.name)}]`])
      const body = this.renderList(rows, { indentation: 2, spacer: '\n', stripAnsi: this.opts.stripAnsi })
      this.log(this.section('PLUGIN COMMANDS', body))
      this.log('')
    }
    this.#reportProblems(catalog)
  }

  async showHelp(argv: string[]): Promise<void> {
    // the words before the first flag, as oclif reads a command's id
    const words = argv.filter((a) => a !== '--help')
    const end = words.findIndex((w) => w.startsWith('-'))
    const ids = (end < 0 ? words : words.slice(0, end)).flatMap((w) => w.split(':'))
    if (ids.length && !(await builtinWords(this.config)).has(ids[0]!)) {
      const catalog = await this.catalog()
      const { findCommand } = await import('./plugin-commands/catalog.js')
      const found = findCommand(
        catalog.commands.filter((c) => !c.unapproved),
        ids,
      )
      if (found) return this.showPluginCommandHelp(found.command)
    }
    return super.showHelp(argv)
  }

  protected async showPluginCommandHelp(c: PluginCommand): Promise<void> {
    await this.showCommandHelp(asOclifCommand(c))
    const how = c.trusted
      ? "trusted: runs in Mirador's process"
      : 'runs in its sandbox, with the permissions its package.json declares'
    this.log(this.section('PLUGIN', `${inert(c.loaded.name)} ${inert(c.loaded.version)} (${how})`))
  }
}
