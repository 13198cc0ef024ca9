/**
 * Reading and writing the safetensors format: an 8-byte little-endian header
 * length N, N bytes of JSON (`{name: {dtype, shape, data_offsets}}` plus an
 * optional `__metadata__` map of strings), then the raw little-endian tensor
 * bytes, offsets relative to the end of the header.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import type { HostTensor } from "./model.ts"

export interface SafetensorsFile {
  readonly tensors: Map<string, HostTensor>
  readonly metadata: Record<string, string>
}

const bytesPer: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 }

const halfToFloat = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exponent = (h >> 10) & 0x1f
  const fraction = h & 0x3ff
  if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024)
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN
  return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024)
}

const decode = (bytes: Uint8Array, dtype: string, count: number): Float32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(count)
  switch (dtype) {
    case "F32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true)
      return out
    case "F64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true)
      return out
    case "BF16": {
      // bfloat16 is the upper half of a float32.
      const word = new DataView(new ArrayBuffer(4))
      for (let i = 0; i < count; i++) {
        word.setUint32(0, view.getUint16(i * 2, true) << 16)
        out[i] = word.getFloat32(0)
      }
      return out
    }
    case "F16":
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true))
      return out
    default:
      throw new Error(`unsupported dtype ${dtype}`)
  }
}

/** Reads a safetensors file, converting F32, F64, F16 and BF16 tensors to float32. */
export const readSafetensors = (path: string): SafetensorsFile => {
  const file = readFileSync(path)
  if (file.length < 8) throw new Error(`${path}: not a safetensors file (shorter than its 8-byte header length)`)
  const headerLength = Number(file.readBigUInt64LE(0))
  if (headerLength > file.length - 8) {
    throw new Error(`${path}: header length ${headerLength} exceeds the file size ${file.length}; the file is truncated or not safetensors`)
  }
  let header: Record<string, unknown>
  try {
    header = JSON.parse(file.subarray(8, 8 + headerLength).toString("utf8"))
  } catch (error) {
    throw new Error(`${path}: the safetensors header is not valid JSON (${(error as Error).message})`)
  }
  const base = 8 + headerLength
  const tensors = new Map<string, HostTensor>()
  let metadata: Record<string, string> = {}
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = (entry ?? {}) as Record<string, string>
      continue
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] }
    const width = bytesPer[dtype]
    if (width === undefined) {
      throw new Error(`${path}: tensor ${name} has dtype ${dtype}; supported: ${Object.keys(bytesPer).join(", ")}`)
    }
    const count = shape.reduce((p, d) => p * d, 1)
    if (offsets[1] - offsets[0] !== count * width || base + offsets[1] > file.length) {
      throw new Error(`${path}: tensor ${name} has data_offsets [${offsets}] that do not match shape [${shape}] of ${dtype}`)
    }
    tensors.set(name, { shape, data: decode(file.subarray(base + offsets[0], base + offsets[1]), dtype, count) })
  }
  return { tensors, metadata }
}

/**
 * Writes float32 tensors (in the given order) with string metadata. The file
 * is written to a temporary name and renamed, so readers never see half a
 * file.
 */
export const writeSafetensors = (
  path: string,
  tensors: Map<string, HostTensor>,
  metadata: Record<string, string> = {},
): void => {
  const header: Record<string, unknown> = { __metadata__: { format: "pt", ...metadata } }
  let offset = 0
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  let json = JSON.stringify(header)
  // Pad the header with spaces to a multiple of 8 bytes, as the reference writer does.
  while ((Buffer.byteLength(json) + 8) % 8 !== 0) json += " "
  const headerBytes = Buffer.from(json, "utf8")
  const out = Buffer.alloc(8 + headerBytes.length + offset)
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0)
  headerBytes.copy(out, 8)
  let at = 8 + headerBytes.length
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i]!, at + i * 4)
    at += t.data.length * 4
  }
  const temporary = `${path}.tmp-${process.pid}`
  writeFileSync(temporary, out)
  renameSync(temporary, path)
}
