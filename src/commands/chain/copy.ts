import { Args, Flags } from '@oclif/core'
import { copyChain, type CopyResult } from '../../cli/chain-copy.js'
import { shownPath } from '../../cli/chain-files.js'
import { miradorHome } from '../../cli/paths.js'
import { MiradorCommand } from '../base.js'

export default class ChainCopy extends MiradorCommand {
  static summary = 'Copy a chain into ./chains to change it.'
  static description =
    'Copies a shipped, user or project chain into ./chains (or --to DIR) as NAME.yaml, or NEWNAME.yaml with ' +
    '--as (its name: key then says NEWNAME). The copy hides the chain of the same name from later folders. ' +
    'Its "# yaml-language-server: $schema=" line is written with the absolute path of the installed schema ' +
    '(mirador schemas path), so an editor completes and checks it wherever it lives. An existing file is ' +
    'never replaced without --force; the file is written atomically.'
  static examples = [
    '<%= config.bin %> chain copy quick-deep',
    '<%= config.bin %> chain copy single --as notes',
    '<%= config.bin %> chain copy draft-refine --to ~/.mirador/chains --force',
  ]
  static args = { chain: Args.string({ description: 'chain name or path to a chain file', required: true }) }
  static flags = {
    to: Flags.string({ description: 'Folder to copy into (default ./chains).', helpValue: 'DIR' }),
    as: Flags.string({ description: 'Name of the copy (default the chain’s own).', helpValue: 'NEWNAME' }),
    force: Flags.boolean({ description: 'Replace the file if it exists.' }),
  }

  async run(): Promise<CopyResult> {
    const { args, flags } = await this.parse(ChainCopy)
    const cwd = process.cwd()
    const r = await copyChain({
      chain: args.chain,
      cwd,
      home: miradorHome(),
      ...(flags.to ? { to: flags.to } : {}),
      ...(flags.as ? { as: flags.as } : {}),
      ...(flags.force ? { force: true } : {}),
    })
    if (!this.jsonEnabled()) {
      this.log(`✓ ${r.replaced ? 'replaced' : 'wrote'} ${shownPath(r.to, cwd)} (chain ${r.name}, from ${r.from})`)
      this.log(`  edit it, then: mirador chain run ${r.name} "…"`)
    }
    return r
  }
}
