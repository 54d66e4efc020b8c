import { Args, Flags } from '@oclif/core'
import { pulledText, pullWithProgress } from '../../cli/model-pull.js'
import { MiradorError } from '../../engine/errors.js'
import { type PullResult } from '../../plugins/models/pull.js'
import { MiradorCommand } from '../base.js'
import { gb, modelsSetup } from './base.js'

export default class ModelsPull extends MiradorCommand {
  static summary = "Download a manifest model's GGUF file (default: the embedded model), resumable and sha256-checked."
  static description =
    'For an entry with `source:` in models/manifest.yaml (the shipped `default` is one): downloads the file from ' +
    'Hugging Face (MIRADOR_HF_ENDPOINT names a mirror) into $MIRADOR_HOME/models/, or where the entry says, ' +
    'with a progress bar on a terminal and plain lines otherwise. The bytes go to FILE.partial first: a download ' +
    'cut off or stopped with Ctrl-C is resumed by running the same command again. The file must have the sha256 ' +
    'the manifest pins, or it is deleted. Ollama models are pulled by Ollama (`mirador models load NAME`).'
  static examples = [
    '<%= config.bin %> models pull',
    '<%= config.bin %> models pull default --json',
    'MIRADOR_HF_ENDPOINT=https://hf-mirror.example <%= config.bin %> models pull',
  ]
  static args = {
    name: Args.string({ description: 'a manifest entry with a source (default: default)', default: 'default' }),
  }
  static flags = {
    offline: Flags.boolean({ description: 'never reach the network: fail if the file is not here yet' }),
  }

  async run(): Promise<PullResult> {
    const { args, flags } = await this.parse(ModelsPull)
    const s = await modelsSetup(flags.config as string | undefined)
    const names = (await s.models.entries()).map((e) => e.name)
    if (!names.includes(args.name))
      throw new MiradorError(
        'USAGE',
        `${args.name}: not in the manifest (${s.manifest ?? 'none'}). Its entries: ${names.join(', ') || 'none'}`,
      )
    const r = await s.models.resolve(args.name)
    const settings = s.engine.settings
    const result = await pullWithProgress(r, settings, { quiet: this.jsonEnabled(), offline: flags.offline })
    if (!this.jsonEnabled()) {
      if (result.present) {
        this.log(`✓ ${r.name} is already downloaded: ${result.path} (${gb(result.bytes)})`)
        this.log(`  \`mirador models verify ${r.name}\` checks it against its sha256.`)
      } else this.log(`✓ ${r.name} ${pulledText(result)}`)
    }
    await s.engine.dispose()
    return result
  }
}
