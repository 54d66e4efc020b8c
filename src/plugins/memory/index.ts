export { MemoryPlugin } from './MemoryPlugin.js'
export type { MemoryOptions } from './options.gen.js'
