// Small but valid files made in code for the scripted hand-off (no binary assets in the repository): the photo
// the end user sends (a PNG) and the document the agent sends back (a one-page PDF). Both open in any viewer.
import { deflateSync } from 'node:zlib'

export type SampleFile = { name: string; contentType: string; bytes: Buffer }

// CRC-32 (ISO 3309, the one PNG chunks carry); node:zlib's crc32 is missing from older Node 20 releases.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (bytes: Buffer) => {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const pngChunk = (type: string, data: Buffer) => {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

/** A width × height 8-bit RGB PNG; `color(x, y)` gives each pixel. */
export function png(width: number, height: number, color: (x: number, y: number) => [number, number, number]): Buffer {
  const row = 1 + width * 3 // each scanline starts with its filter type (0: none)
  const raw = Buffer.alloc(row * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(color(x, y), y * row + 1 + x * 3)
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8) // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** A one-page PDF showing `lines` (ASCII) in Helvetica, with an exact cross-reference table. */
export function pdf(lines: string[]): Buffer {
  const literal = (s: string) => `(${s.replace(/[\\()]/g, (c) => `\\${c}`)})`
  const text = `BT /F1 14 Tf 24 160 Td 18 TL ${lines.map((l) => `${literal(l)} '`).join(' ')} ET`
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 200] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
  ]
  let out = '%PDF-1.4\n'
  const offsets: number[] = []
  for (const [i, o] of objects.entries()) {
    offsets.push(out.length)
    out += `${i + 1} 0 obj\n${o}\nendobj\n`
  }
  const xref = out.length
  // Each entry is exactly 20 bytes: 10-digit offset, 5-digit generation, type, and a 2-byte end of line.
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(out, 'latin1')
}

/** The end user's photo of the parcel: a brown box with a tape stripe, 24 × 24. */
export const PARCEL_PHOTO: SampleFile = {
  name: 'parcel.png',
  contentType: 'image/png',
  bytes: png(24, 24, (x, y) => (y < 3 || y > 20 || x < 3 || x > 20 ? [255, 255, 255] : x >= 10 && x < 14 ? [222, 200, 150] : [176, 124, 72])),
}

/** The agent's return label. */
export const RETURN_LABEL: SampleFile = {
  name: 'return-label.pdf',
  contentType: 'application/pdf',
  bytes: pdf(['Demo Desk - return label', 'Order #1042', 'Drop the parcel at any post office.']),
}
