/**
 * The ggml tensor types a GGUF file may use: id → name, values per block and bytes per block
 * (ggml.c's type_traits; the block structs are in ggml-common.h). A tensor's data takes
 * (elements / blockSize) × blockBytes bytes, and its rows (dims[0]) must be whole blocks.
 * Types ggml has removed (their ids stay reserved) are marked: llama.cpp refuses files that use them.
 * The table goes up to the ids node-llama-cpp 3.21.1 names (Q2_0 = 42); a newer type is "unknown"
 * here until it is added, and a file using it is refused rather than guessed at.
 */
export interface GgmlType {
  name: string
  blockSize: number
  blockBytes: number
  removed?: true
}

const K = 256 // QK_K, the super-block of the k-quants and i-quants

export const GGML_TYPES: Readonly<Record<number, GgmlType>> = {
  0: { name: 'F32', blockSize: 1, blockBytes: 4 },
  1: { name: 'F16', blockSize: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockSize: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockSize: 32, blockBytes: 20 },
  4: { name: 'Q4_2', blockSize: 32, blockBytes: 0, removed: true },
  5: { name: 'Q4_3', blockSize: 32, blockBytes: 0, removed: true },
  6: { name: 'Q5_0', blockSize: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockSize: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockSize: 32, blockBytes: 34 },
  9: { name: 'Q8_1', blockSize: 32, blockBytes: 36 },
  10: { name: 'Q2_K', blockSize: K, blockBytes: 84 },
  11: { name: 'Q3_K', blockSize: K, blockBytes: 110 },
  12: { name: 'Q4_K', blockSize: K, blockBytes: 144 },
  13: { name: 'Q5_K', blockSize: K, blockBytes: 176 },
  14: { name: 'Q6_K', blockSize: K, blockBytes: 210 },
  15: { name: 'Q8_K', blockSize: K, blockBytes: 292 },
  16: { name: 'IQ2_XXS', blockSize: K, blockBytes: 66 },
  17: { name: 'IQ2_XS', blockSize: K, blockBytes: 74 },
  18: { name: 'IQ3_XXS', blockSize: K, blockBytes: 98 },
  19: { name: 'IQ1_S', blockSize: K, blockBytes: 50 },
  20: { name: 'IQ4_NL', blockSize: 32, blockBytes: 18 },
  21: { name: 'IQ3_S', blockSize: K, blockBytes: 110 },
  22: { name: 'IQ2_S', blockSize: K, blockBytes: 82 },
  23: { name: 'IQ4_XS', blockSize: K, blockBytes: 136 },
  24: { name: 'I8', blockSize: 1, blockBytes: 1 },
  25: { name: 'I16', blockSize: 1, blockBytes: 2 },
  26: { name: 'I32', blockSize: 1, blockBytes: 4 },
  27: { name: 'I64', blockSize: 1, blockBytes: 8 },
  28: { name: 'F64', blockSize: 1, blockBytes: 8 },
  29: { name: 'IQ1_M', blockSize: K, blockBytes: 56 },
  30: { name: 'BF16', blockSize: 1, blockBytes: 2 },
  31: { name: 'Q4_0_4_4', blockSize: 32, blockBytes: 0, removed: true },
  32: { name: 'Q4_0_4_8', blockSize: 32, blockBytes: 0, removed: true },
  33: { name: 'Q4_0_8_8', blockSize: 32, blockBytes: 0, removed: true },
  34: { name: 'TQ1_0', blockSize: K, blockBytes: 54 },
  35: { name: 'TQ2_0', blockSize: K, blockBytes: 66 },
  36: { name: 'IQ4_NL_4_4', blockSize: 32, blockBytes: 0, removed: true },
  37: { name: 'IQ4_NL_4_8', blockSize: 32, blockBytes: 0, removed: true },
  38: { name: 'IQ4_NL_8_8', blockSize: 32, blockBytes: 0, removed: true },
  39: { name: 'MXFP4', blockSize: 32, blockBytes: 17 },
  40: { name: 'NVFP4', blockSize: 64, blockBytes: 36 },
  41: { name: 'Q1_0', blockSize: 128, blockBytes: 18 },
  42: { name: 'Q2_0', blockSize: 64, blockBytes: 18 },
}
export const GGML_TYPE_F32 = 0

/** "Q4_K", or "type 99" for an id ggml does not know */
export function ggmlTypeName(type: number): string {
  return GGML_TYPES[type]?.name ?? `type ${type}`
}
