/**
 * The battery, as the energy profiles see it: charge in percent and whether the machine is on
 * mains power. On Linux it is read straight from /sys/class/power_supply (what systeminformation
 * reads there too, without loading it: a run's plan waits for this reading); elsewhere with
 * systeminformation, imported lazily. Cached for 30 s in the process and in
 * `$MIRADOR_HOME/energy/battery.json` (so a burst of CLI runs reads the hardware once). A machine
 * with no battery counts as plugged in at 100 %.
 *
 * The seam: `MIRADOR_BATTERY` replaces the hardware reading, for tests and for users who want to
 * see what a profile would do: `15,unplugged`, `80,plugged`, `50` (unplugged), `none` (no battery).
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { MiradorError } from '../../engine/errors.js'

export interface BatteryReading {
  /** charge, 0 to 100 (100 without a battery) */
  percent: number
  /** on mains power (always true without a battery) */
  plugged: boolean
  hasBattery: boolean
  /** where the reading came from */
  source: 'env' | 'sysfs' | 'systeminformation' | 'cache'
}

export const BATTERY_CACHE_MS = 30_000

export const NO_BATTERY: BatteryReading = Object.freeze({
  percent: 100,
  plugged: true,
  hasBattery: false,
  source: 'systeminformation' as const,
})

/** Parses `MIRADOR_BATTERY`: `none`, or `PERCENT[,plugged|unplugged]` (percent 0 to 100, default unplugged). */
export function parseBatteryEnv(value: string): BatteryReading {
  const v = value.trim().toLowerCase()
  if (v === 'none' || v === 'no' || v === 'absent') return { ...NO_BATTERY, source: 'env' }
  const m = /^(\d{1,3}(?:\.\d+)?)\s*%?\s*(?:,\s*(plugged|unplugged|ac|battery|charging|discharging))?$/.exec(v)
  const percent = m ? Number(m[1]) : NaN
  if (!m || !(percent >= 0 && percent <= 100)) {
    throw new MiradorError(
      'USAGE',
      `MIRADOR_BATTERY=${JSON.stringify(value)} is not a battery reading. ` +
        'Write PERCENT,plugged or PERCENT,unplugged (percent 0 to 100, e.g. 15,unplugged), ' +
        'or none for a machine without a battery.',
      { details: { env: 'MIRADOR_BATTERY' } },
    )
  }
  const state = m[2] ?? 'unplugged'
  const plugged = state === 'plugged' || state === 'ac' || state === 'charging'
  return { percent, plugged, hasBattery: true, source: 'env' }
}

interface SiBattery {
  hasBattery: boolean
  percent: number
  acConnected: boolean
  isCharging: boolean
}

/** What a probe says, as a reading. */
export function fromSystemInformation(
  b: SiBattery,
  source: 'sysfs' | 'systeminformation' = 'systeminformation',
): BatteryReading {
  if (!b.hasBattery) return { ...NO_BATTERY, source }
  const percent = Math.max(0, Math.min(100, Number.isFinite(b.percent) ? b.percent : 100))
  return { percent, plugged: Boolean(b.acConnected || b.isCharging), hasBattery: true, source }
}

const readText = (file: string) =>
  readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  )

/**
 * Linux's power supplies (`type` Battery or Mains/USB), read as systeminformation reads them: the
 * first battery's `capacity` and `status`, and whether any mains supply is `online`.
 */
export async function probeSysfs(dir = '/sys/class/power_supply'): Promise<SiBattery> {
  const names = await readdir(dir).catch(() => [] as string[])
  const supplies = await Promise.all(
    names.map(async (name) => {
      const at = (f: string) => readText(path.join(dir, name, f))
      const [type, capacity, status, online] = await Promise.all([
        at('type'),
        at('capacity'),
        at('status'),
        at('online'),
      ])
      return { type, capacity, status, online }
    }),
  )
  const battery = supplies.find((s) => s.type === 'Battery' && s.capacity !== undefined)
  const acConnected = supplies.some((s) => s.type !== 'Battery' && s.online === '1')
  if (!battery) return { hasBattery: false, percent: 100, acConnected: true, isCharging: false }
  return {
    hasBattery: true,
    percent: Number(battery.capacity),
    acConnected,
    isCharging: battery.status === 'Charging' || battery.status === 'Full',
  }
}

let memo: { at: number; reading: BatteryReading } | undefined

/** Forgets the in-process cache (tests). */
export function resetBatteryCache(): void {
  memo = undefined
}

export interface ReadBatteryOptions {
  /** $MIRADOR_HOME: keep the reading in energy/battery.json for the next process */
  home?: string
  /** replaces the hardware probe (tests) */
  probe?: () => Promise<SiBattery>
  now?: () => number
}

async function probeSystem(): Promise<SiBattery> {
  const si = await import('systeminformation')
  // a CommonJS module: `default` holds its exports (a loader may offer only the named ones)
  return (si.default ?? si).battery()
}

/**
 * The battery now. `MIRADOR_BATTERY` wins (never cached); else a reading less than 30 s old
 * (this process, then the home cache file); else systeminformation. A failing probe counts as no
 * battery: a profile must never stop a run.
 */
export async function readBattery(
  env: NodeJS.ProcessEnv = process.env,
  opts: ReadBatteryOptions = {},
): Promise<BatteryReading> {
  if (env.MIRADOR_BATTERY !== undefined && env.MIRADOR_BATTERY !== '') return parseBatteryEnv(env.MIRADOR_BATTERY)
  const now = (opts.now ?? Date.now)()
  if (memo && now - memo.at >= 0 && now - memo.at < BATTERY_CACHE_MS) return { ...memo.reading, source: 'cache' }
  const file = opts.home ? path.join(opts.home, 'energy', 'battery.json') : undefined
  if (file) {
    try {
      const c = JSON.parse(await readFile(file, 'utf8')) as {
        at?: unknown
        percent?: unknown
        plugged?: unknown
        hasBattery?: unknown
      }
      if (
        typeof c.at === 'number' &&
        now - c.at >= 0 &&
        now - c.at < BATTERY_CACHE_MS &&
        typeof c.percent === 'number' &&
        typeof c.plugged === 'boolean' &&
        typeof c.hasBattery === 'boolean'
      ) {
        const reading: BatteryReading = {
          percent: c.percent,
          plugged: c.plugged,
          hasBattery: c.hasBattery,
          source: 'cache',
        }
        memo = { at: c.at, reading }
        return reading
      }
    } catch {
      // no cache yet, or a broken one: read the hardware
    }
  }
  let reading: BatteryReading
  try {
    reading = opts.probe
      ? fromSystemInformation(await opts.probe())
      : process.platform === 'linux'
        ? fromSystemInformation(await probeSysfs(), 'sysfs')
        : fromSystemInformation(await probeSystem())
  } catch {
    reading = { ...NO_BATTERY }
  }
  memo = { at: now, reading }
  if (file) {
    // best effort: a read-only home only costs the next process a probe
    await writeFileAtomic(
      file,
      JSON.stringify({ at: now, percent: reading.percent, plugged: reading.plugged, hasBattery: reading.hasBattery }) +
        '\n',
    ).catch(() => {})
  }
  return reading
}
