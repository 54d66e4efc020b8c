import { readdirSync } from 'node:fs'
import { SCHEMAS_DIR } from '../../cli/paths.js'
import { MiradorCommand } from '../base.js'

export default class SchemasPath extends MiradorCommand {
  static summary = 'Print the folder of the installed JSON Schemas, for editors.'
  static description =
    'Mirador checks chains, the manifest, config, profiles and tools against these schemas; an editor ' +
    'with a YAML language server completes and checks a file that starts with ' +
    '"# yaml-language-server: $schema=FOLDER/chain.schema.json" (the schema of its kind). ' +
    '`mirador chain copy` writes that line for you.'
  static examples = [
    '<%= config.bin %> schemas path',
    'echo "# yaml-language-server: $schema=$(<%= config.bin %> schemas path)/chain.schema.json"',
    '<%= config.bin %> schemas path --json',
  ]

  async run(): Promise<{ path: string; schemas: string[] }> {
    await this.parse(SchemasPath)
    const schemas = readdirSync(SCHEMAS_DIR)
      .filter((f) => f.endsWith('.schema.json'))
      .sort()
    if (!this.jsonEnabled()) this.log(SCHEMAS_DIR)
    return { path: SCHEMAS_DIR, schemas }
  }
}
