import { processIO, runChainCommand } from '../cli/chain-run.js'
import { askSpec } from '../cli/spec.js'
import { MiradorCommand } from './base.js'
import { toOclifArgs, toOclifFlags } from './oclif-spec.js'

export default class Ask extends MiradorCommand {
  static summary = askSpec.summary
  static description = askSpec.description
  static examples = askSpec.examples
  static args = toOclifArgs(askSpec.args)
  // --json here means NDJSON events, as for chain run
  static enableJsonFlag = false
  static flags = toOclifFlags(askSpec.flags)

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Ask)
    const query = args.query !== undefined ? { query: args.query as string } : {}
    const code = await runChainCommand({ ...(flags as Record<string, unknown>), chain: 'auto', ...query }, processIO())
    this.exit(code)
  }
}
