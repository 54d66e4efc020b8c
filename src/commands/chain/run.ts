import { processIO, runChainCommand } from '../../cli/chain-run.js'
import { chainRunSpec } from '../../cli/spec.js'
import { MiradorCommand } from '../base.js'
import { toOclifArgs, toOclifFlags } from '../oclif-spec.js'

export default class ChainRun extends MiradorCommand {
  static summary = chainRunSpec.summary
  static description = chainRunSpec.description
  static examples = chainRunSpec.examples
  static args = toOclifArgs(chainRunSpec.args)
  // --json here means NDJSON events, not oclif's single JSON document
  static enableJsonFlag = false
  static flags = toOclifFlags(chainRunSpec.flags)

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ChainRun)
    const query = args.query !== undefined ? { query: args.query as string } : {}
    const code = await runChainCommand(
      { ...(flags as Record<string, unknown>), chain: args.chain as string, ...query },
      processIO(),
    )
    this.exit(code)
  }
}
