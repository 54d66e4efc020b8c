import { setup } from '../../cli/setup.js'
import { MiradorError } from '../../engine/errors.js'
import { byPriority, describeReading } from '../../plugins/energy/profiles.js'
import { Flags, MiradorCommand } from '../base.js'

export default class EnergyProfileCommand extends MiradorCommand {
  static summary = 'Which energy profile applies now, and why; the profiles found, by priority.'
  static description =
    'Reads the battery (or MIRADOR_BATTERY, e.g. 15,unplugged), then picks the profile as a run would: ' +
    'the pinned one (--profile, MIRADOR_PROFILE, profile: in config), else the first by priority whose `when` holds. ' +
    'Profiles are profiles/*.yaml in the project, $MIRADOR_HOME/profiles and the shipped ones.'
  static examples = [
    '<%= config.bin %> energy profile',
    'MIRADOR_BATTERY=15,unplugged <%= config.bin %> energy profile',
    '<%= config.bin %> energy profile --profile survival --json',
  ]
  static flags = {
    profile: Flags.string({ description: 'Pin this profile, as `chain run --profile` does.', helpValue: 'NAME' }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(EnergyProfileCommand)
    const s = await setup({
      ...(flags.config ? { config: flags.config as string } : {}),
      flags: { ...(flags.profile ? { profile: flags.profile } : {}) },
    })
    if (!s.energy) throw new MiradorError('USAGE', 'energy profiles are turned off (builtins: { energy: false })')
    // what a run would do: the plugin's own choice
    const [{ profiles, errors }, { selection, reading }] = await Promise.all([s.energy.profiles(), s.energy.current()])
    const out = {
      profile: selection.profile?.name ?? null,
      reason: selection.reason,
      battery: reading.hasBattery ? Math.round(reading.percent) : null,
      plugged: reading.plugged,
      hasBattery: reading.hasBattery,
      pinned: selection.pinned,
      profiles: byPriority(profiles).map((p) => ({
        name: p.name,
        priority: p.priority ?? 0,
        when: p.when ?? null,
        file: p.file,
        ...(p.description ? { description: p.description } : {}),
      })),
      errors: errors.map((e) => e.toJSON()),
    }
    if (!this.jsonEnabled()) {
      this.log(`${describeReading(reading)}`)
      this.log(
        out.profile
          ? `Profile: ${out.profile} (${out.reason})`
          : `No profile applies (${out.reason}): chains run as written.`,
      )
      for (const p of out.profiles) {
        const mark = p.name === out.profile ? '* ' : '  '
        this.log(`  ${mark + p.name.padEnd(18)} priority ${String(p.priority).padStart(4)}  ${p.file}`)
      }
      for (const e of errors) this.logToStderr(`✗ ${e.code}: ${e.format()}`)
    }
    return out
  }
}
