/**
 * Does a GGUF file's tensor data fit the file, laid out as llama.cpp's loader requires? Checked
 * from the header alone (read.ts), before llama.cpp maps the file: what ggml's gguf_init and
 * llama_model_loader would refuse later, or, for a file cut short, what would only show as a
 * failed load (or, with mmap, a crash when the missing pages are touched).
 *
 * For each tensor, in tensor-table order: its ggml type is one ggml knows and has not removed, its
 * rows are whole blocks of that type, its element count is a sane number, its data starts where
 * the tensors before it end (back to back, each padded to the alignment: ggml requires exactly
 * that), and its data ends inside the file.
 */
import { GGML_TYPES, ggmlTypeName } from './ggml-types.js'
import { GgufFormatError, alignUp, type GgufFile } from './read.js'

export interface GgufLayout {
  /** bytes of tensor data, padding included */
  dataBytes: number
  /** where the last tensor's data ends: the smallest size the file can have */
  end: number
}

export function checkGgufLayout(gguf: GgufFile, fileSize: number): GgufLayout {
  if (gguf.dataOffset > fileSize && gguf.tensors.length > 0)
    throw new GgufFormatError(
      `it ends at byte ${fileSize}, before its tensor data begins (at byte ${gguf.dataOffset}): the file is truncated`,
      'truncated',
    )
  let expected = 0
  let end = Math.min(gguf.dataOffset, fileSize)
  gguf.tensors.forEach((t, i) => {
    const type = GGML_TYPES[t.type]
    const which = `its tensor ${t.name} (${i + 1} of ${gguf.tensors.length})`
    if (!type)
      throw new GgufFormatError(
        `${which} has the ggml type ${t.type}, which llama.cpp does not have (as far as Mirador knows): ` +
          'the file is corrupt, or made for a newer llama.cpp',
      )
    if (type.removed)
      throw new GgufFormatError(
        `${which} uses the ggml type ${type.name}, which llama.cpp has removed: ` +
          'the model needs converting again with a current llama.cpp',
        'version',
      )
    const rows = t.dims[0] ?? 1
    if (rows % type.blockSize !== 0)
      throw new GgufFormatError(
        `${which} has rows of ${rows} values, not whole ${type.name} blocks of ${type.blockSize}: ` +
          'the tensor table is corrupt',
      )
    if (t.byteSize === undefined)
      throw new GgufFormatError(
        `${which} has dimensions [${t.dims.join(', ')}], more data than any file holds: the tensor table is corrupt`,
      )
    if (t.offset !== expected)
      throw new GgufFormatError(
        `${which} has the data offset ${t.offset}, but the tensors before it end at ${expected} ` +
          '(llama.cpp requires them back to back): the tensor table is corrupt',
      )
    const tensorEnd = t.fileOffset + t.byteSize
    if (tensorEnd > fileSize)
      throw new GgufFormatError(
        `${which}, ${ggmlTypeName(t.type)} [${t.dims.join(', ')}], needs bytes ${t.fileOffset} to ${tensorEnd}, ` +
          `but the file ends at byte ${fileSize}: the file is truncated`,
        'truncated',
      )
    end = tensorEnd
    expected = alignUp(t.offset + t.byteSize, gguf.alignment)
  })
  return { dataBytes: expected, end }
}
