import { mkdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import { newGroupText, learnerQueryTypes, shippedChainNames } from '../../cli/federation/new-group.js'
import { miradorHome } from '../../cli/paths.js'
import { MiradorError } from '../../engine/errors.js'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { PRIVACY_DEFAULTS, privacyParams } from '../../plugins/federation/dp.js'
import { createExchange, exchangeKind } from '../../plugins/federation/exchange/index.js'
import { loadOrCreateMemberKeys } from '../../plugins/federation/member-keys.js'
import { writeMembership } from '../../plugins/federation/membership.js'
import { MiradorCommand } from '../base.js'
import { checkId, entryFor, idFlag, refuseSecondGroup } from './base.js'

const GROUP = /^[a-z0-9][a-z0-9._-]{0,63}$/

const list = (s: string | undefined) =>
  s === undefined ? undefined : [...new Set(s.split(',').map((x) => x.trim()))].filter(Boolean)

export default class FederationInit extends MiradorCommand {
  static summary = 'Start a federation group: your keys, a group file others join with, you as its first member.'
  static description =
    'Creates your federation keys ($MIRADOR_HOME/keys/federation), writes the group file (the exchange, the ' +
    "vocabulary of query types and chains whose ratings are counted, the privacy parameters, the members' public " +
    'keys) with you as its first member, and remembers that this Mirador is in the group. Give the file to the ' +
    'others (in a folder exchange it sits in the folder itself): they run `mirador federation join FILE`.\n' +
    '\n' +
    'The exchange is a folder every member syncs (created if missing), a git remote (git+file://, git+ssh://, ' +
    'git+https://) or a WebDAV URL (https://). A remote one is not contacted here: the first `federation ' +
    'contribute` does. The vocabulary defaults to the shipped chains and your learner\'s query types ("general" ' +
    'and the types of your keyword rules); privacy to ε 1 per contribution (Laplace, clip 10), a budget of ε 4 ' +
    'per 30 days. One group per Mirador home.'
  static examples = [
    '<%= config.bin %> federation init garden-club --exchange ~/Sync/garden-club',
    '<%= config.bin %> federation init garden-club --exchange git+ssh://git@example.com/garden.git --id ana',
    '<%= config.bin %> federation init lab --exchange https://dav.example.com/lab --types code,general --json',
  ]
  static args = {
    group: Args.string({
      description: "the group's name (lowercase letters, digits, '.', '_', '-')",
      required: true,
      ignoreStdin: true,
    }),
  }
  static flags = {
    exchange: Flags.string({
      description: 'Where rounds are exchanged: a folder, git+URL, or an http(s):// WebDAV URL.',
      helpValue: 'DIR|git+URL|https://…',
      required: true,
    }),
    out: Flags.string({
      description: 'Where to write the group file (default: GROUP.group.yaml in a folder exchange, else here).',
      helpValue: 'FILE',
    }),
    id: idFlag,
    threshold: Flags.integer({
      description: 'The fewest contributions a round opens with (at least 2; a round also needs a majority).',
      min: 2,
      default: 2,
      helpValue: 'N',
    }),
    epsilon: Flags.string({
      description: `ε per contribution (${PRIVACY_DEFAULTS.epsilon} by default; smaller is more private).`,
      helpValue: 'E',
    }),
    chains: Flags.string({ description: 'The chains counted (default: the shipped chains).', helpValue: 'a,b' }),
    types: Flags.string({ description: "The query types counted (default: your learner's).", helpValue: 'x,y' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(FederationInit)
    if (!GROUP.test(args.group))
      throw new MiradorError(
        'USAGE',
        `${JSON.stringify(args.group)} is not a group name: use lowercase letters, digits, '.', '_' and '-', ` +
          'starting with a letter or digit (e.g. garden-club)',
      )
    if (flags.epsilon !== undefined && !/^\d*\.?\d+(e-?\d+)?$/i.test(flags.epsilon))
      throw new MiradorError('USAGE', `--epsilon ${flags.epsilon} is not a number (e.g. 0.5)`)
    const { epsilon } = privacyParams(flags.epsilon === undefined ? {} : { epsilon: Number(flags.epsilon) })
    if (flags.id !== undefined) checkId(flags.id)
    const home = miradorHome()
    const cwd = process.cwd()
    await refuseSecondGroup(home)

    const kind = exchangeKind(flags.exchange)
    const folder = kind === 'folder' ? path.resolve(cwd, flags.exchange.replace(/^dir:/, '')) : undefined
    const out = path.resolve(
      cwd,
      flags.out ?? (folder ? path.join(folder, `${args.group}.group.yaml`) : `${args.group}.group.yaml`),
    )
    if (await exists(out))
      throw new MiradorError(
        'FILE_EXISTS',
        `${out} exists already: to join that group run \`mirador federation join ${out}\`; ` +
          'to start another, choose another --out',
      )
    const exchange = await this.checkExchange(flags.exchange, folder, out, home)
    const queryTypes = list(flags.types) ?? (await learnerQueryTypes(cwd, home, flags.config as string | undefined))
    const chains = list(flags.chains) ?? shippedChainNames()
    // keys last: a refused init leaves none behind
    const founder = entryFor(await loadOrCreateMemberKeys(home), flags.id)
    const g = { group: args.group, exchange, queryTypes, chains, epsilon, threshold: flags.threshold, founder }
    const text = newGroupText(g, out)
    try {
      await writeFileAtomic(out, text, 0o644, { exclusive: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      throw new MiradorError('FILE_EXISTS', `${out} appeared meanwhile: choose another --out`)
    }
    await writeMembership(home, { groupFile: out, member: founder.id })
    if (!this.jsonEnabled()) {
      this.log(`✓ created the group ${args.group}, with you (${founder.id}) as its first member`)
      this.log(`  group file: ${out}`)
      this.log(`  shared over: query types ${queryTypes.join(', ')}; chains ${chains.join(', ')}`)
      this.log(`  others join with: mirador federation join ${out}`)
      if (!folder)
        this.log(`  the exchange ${flags.exchange} was not contacted: the first \`federation contribute\` will`)
    }
    return { groupFile: out, member: founder.id, group: args.group }
  }

  /**
   * The exchange as the group file names it. A folder is created; when the group file sits in it,
   * it is named relative to the file (`.`), so the others' synced copies work wherever they are.
   * A local git remote must exist; remote ones are not contacted.
   */
  private async checkExchange(url: string, folder: string | undefined, out: string, home: string): Promise<string> {
    // refuses a bad URL or one holding credentials; the member id only names git commits, and none is made
    const x = createExchange(folder ?? url, { home, member: 'init' })
    if (!folder) {
      await x.close()
      if (url.startsWith('git+file:')) {
        const repo = new URL(url.slice('git+'.length)).pathname
        if (!(await exists(repo)))
          throw new MiradorError(
            'FEDERATION_EXCHANGE',
            `exchange ${url}: ${repo} does not exist; create it with \`git init --bare ${repo}\``,
          )
      }
      return url
    }
    await mkdir(folder, { recursive: true })
    await x.list('') // readable
    await x.close()
    const rel = path.relative(path.dirname(out), folder)
    if (rel === '') return '.'
    return rel.startsWith('..') || path.isAbsolute(rel) ? folder : rel.split(path.sep).join('/')
  }
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  )
