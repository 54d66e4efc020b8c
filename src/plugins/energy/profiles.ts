/**
 * Energy profiles (profiles/*.yaml, schemas/profile.schema.json): loading, and choosing the one
 * that applies to a battery reading.
 *
 * Folders are searched in order (./profiles, $MIRADOR_HOME/profiles, the shipped ones); a profile
 * name found in an earlier folder shadows the same name in later ones, so a user copies a shipped
 * profile into the project to change it. A file that does not validate is reported with
 * file:line:column and left out; the others still apply.
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { didYouMeanText, loadConfigFile, type ProfileFile } from '../../engine/config/index.js'
import { MiradorError } from '../../engine/errors.js'
import type { BatteryReading } from './battery.js'

export interface Profile extends ProfileFile {
  name: string
  /** the file it came from */
  file: string
}

export interface LoadedProfiles {
  /** by precedence: the first folder's first */
  profiles: Profile[]
  /** files that could not be loaded (with file:line:column) */
  errors: MiradorError[]
}

function yamlFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name))
      .map((e) => path.join(dir, e.name))
      .sort()
  } catch {
    return [] // a folder that does not exist has no profiles
  }
}

/** Loads every profile of `dirs`; earlier folders shadow later ones by name. */
export async function loadProfiles(dirs: string[]): Promise<LoadedProfiles> {
  const profiles: Profile[] = []
  const errors: MiradorError[] = []
  const seen = new Set<string>()
  for (const dir of dirs) {
    const loaded = await Promise.all(
      yamlFiles(dir).map(async (file) => {
        try {
          return { file, value: (await loadConfigFile<ProfileFile>(file, 'profile')).value }
        } catch (err) {
          return { file, error: MiradorError.from(err, 'CONFIG_INVALID') }
        }
      }),
    )
    for (const l of loaded) {
      if ('error' in l) {
        errors.push(l.error!)
        continue
      }
      const name = l.value!.name!
      if (seen.has(name)) continue
      seen.add(name)
      profiles.push({ ...l.value!, name, file: l.file })
    }
  }
  return { profiles, errors }
}

/** Whether a profile's `when` holds for a reading; a profile without `when` never matches by itself. */
export function matches(profile: ProfileFile, reading: Pick<BatteryReading, 'percent' | 'plugged'>): boolean {
  const w = profile.when
  if (!w) return false
  if (w.plugged !== undefined && w.plugged !== reading.plugged) return false
  if (w.battery_below !== undefined && !(reading.percent < w.battery_below)) return false
  if (w.battery_above !== undefined && !(reading.percent > w.battery_above)) return false
  return true
}

/** Highest priority first (no priority counts as 0), then by name. */
export function byPriority(profiles: readonly Profile[]): Profile[] {
  return [...profiles].sort(
    (a, b) => (b.priority ?? 0) - (a.priority ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  )
}

export interface Selection {
  profile?: Profile
  /** why it applies (or why none does), for the `profile` event */
  reason: string
  pinned: boolean
}

function describeWhen(p: ProfileFile): string {
  const w = p.when ?? {}
  const parts: string[] = []
  if (w.plugged !== undefined) parts.push(w.plugged ? 'plugged in' : 'on battery')
  if (w.battery_below !== undefined) parts.push(`battery below ${w.battery_below} %`)
  if (w.battery_above !== undefined) parts.push(`battery above ${w.battery_above} %`)
  return parts.length ? parts.join(', ') : 'always'
}

export function describeReading(r: Pick<BatteryReading, 'percent' | 'plugged' | 'hasBattery'>): string {
  return r.hasBattery
    ? `battery ${Math.round(r.percent)} %, ${r.plugged ? 'plugged in' : 'unplugged'}`
    : 'no battery (counts as plugged in)'
}

/** The error for a pinned name that no profile has. */
export function unknownProfile(name: string, profiles: readonly Profile[], from = '--profile'): MiradorError {
  const names = profiles.map((p) => p.name).sort()
  return new MiradorError(
    'USAGE',
    `no energy profile named "${name}" (${from}).${didYouMeanText(name, names)} ` +
      `Profiles: ${names.length ? names.join(', ') : 'none found'}. ` +
      'They are profiles/NAME.yaml in the project, $MIRADOR_HOME/profiles or the shipped ones.',
    { details: { profile: name, profiles: names } },
  )
}

/**
 * The profile for a reading: the pinned one by name (an unknown name throws USAGE listing the
 * names), else the first by priority whose `when` holds, else none (the chain runs as written).
 */
export function selectProfile(
  profiles: readonly Profile[],
  reading: Pick<BatteryReading, 'percent' | 'plugged' | 'hasBattery'>,
  pinned?: { name: string; from?: string },
): Selection {
  if (pinned) {
    const p = profiles.find((x) => x.name === pinned.name)
    if (!p) throw unknownProfile(pinned.name, profiles, pinned.from)
    return { profile: p, reason: `pinned by ${pinned.from ?? '--profile'} (${describeReading(reading)})`, pinned: true }
  }
  for (const p of byPriority(profiles)) {
    if (matches(p, reading))
      return {
        profile: p,
        reason: `${describeReading(reading)}: matches ${describeWhen(p)} (priority ${p.priority ?? 0})`,
        pinned: false,
      }
  }
  return { reason: `${describeReading(reading)}: no profile matches`, pinned: false }
}
