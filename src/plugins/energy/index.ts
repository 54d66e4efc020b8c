export { EnergyPlugin, pinnedProfile, type EnergyOptions, type ProfileReport } from './EnergyPlugin.js'
export { readBattery, parseBatteryEnv, resetBatteryCache, type BatteryReading } from './battery.js'
export {
  loadProfiles,
  selectProfile,
  matches,
  byPriority,
  describeReading,
  type Profile,
  type Selection,
} from './profiles.js'
export { applyProfile, DEFAULT_MODEL_GB, type Change, type Preferences, type SizeOf } from './transform.js'
export {
  estimateJoules,
  addStage,
  emptySummary,
  readLog,
  summarize,
  logFile,
  J_GEN,
  J_PROMPT,
  type EnergySummary,
  type EnergyReport,
  type EnergyLogEntry,
} from './account.js'
