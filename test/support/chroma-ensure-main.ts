/**
 * Child process for the Chroma tests: waits until the given time (so two children race for real),
 * runs ensureChromaServer on the given MIRADOR_HOME (passing on MIRADOR_CHROMA_IDLE_MS) and prints
 * the handle as JSON, then exits: the server it started lives on.
 *
 *   node --import ./test/support/ts-loader.mjs test/support/chroma-ensure-main.ts HOME [AT_MS]
 */
import { ensureChromaServer } from '../../src/plugins/memory/chroma/server.js'

const [home, at] = process.argv.slice(2)
if (!home) throw new Error('usage: chroma-ensure-main.ts HOME [AT_MS]')
const wait = Number(at ?? 0) - Date.now()
if (wait > 0) await new Promise((r) => setTimeout(r, wait))
const idle = process.env.MIRADOR_CHROMA_IDLE_MS
const handle = await ensureChromaServer({ home, env: idle ? { MIRADOR_CHROMA_IDLE_MS: idle } : {} })
process.stdout.write(JSON.stringify(handle))
