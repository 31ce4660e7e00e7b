// The files the scripted hand-off sends (src/sandbox/sampleFiles.ts) are valid, so a viewer opens them: PNG
// chunks with correct lengths and CRCs and pixel data of the declared size; a PDF whose cross-reference table
// points at each object.
import { inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { PARCEL_PHOTO, RETURN_LABEL, png } from '../src/sandbox/sampleFiles'

// CRC-32 computed independently of the code under test (bitwise, no table).
const crc32 = (bytes: Buffer) => {
  let c = ~0
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return ~c >>> 0
}

function chunks(bytes: Buffer) {
  const out: { type: string; data: Buffer; crcOk: boolean }[] = []
  for (let i = 8; i < bytes.length; ) {
    const length = bytes.readUInt32BE(i)
    const body = bytes.subarray(i + 4, i + 8 + length)
    out.push({ type: body.subarray(0, 4).toString('latin1'), data: body.subarray(4), crcOk: bytes.readUInt32BE(i + 8 + length) === crc32(body) })
    i += 12 + length
  }
  return out
}

describe('sample files of the scripted hand-off', () => {
  it('png(): signature, IHDR, IDAT of width × height RGB scanlines, IEND, every CRC right', () => {
    const bytes = png(3, 2, (x, y) => [x * 80, y * 200, 7])
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const list = chunks(bytes)
    expect(list.map((c) => [c.type, c.crcOk])).toEqual([
      ['IHDR', true],
      ['IDAT', true],
      ['IEND', true],
    ])
    const ihdr = list[0]!.data
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ...ihdr.subarray(8)]).toEqual([3, 2, 8, 2, 0, 0, 0])
    const raw = inflateSync(list[1]!.data)
    expect([...raw]).toEqual([0, 0, 0, 7, 80, 0, 7, 160, 0, 7, 0, 0, 200, 7, 80, 200, 7, 160, 200, 7])
    expect(PARCEL_PHOTO).toMatchObject({ name: 'parcel.png', contentType: 'image/png' })
    expect(chunks(PARCEL_PHOTO.bytes).every((c) => c.crcOk)).toBe(true)
  })

  it('the PDF: header, every xref entry at its object, startxref at the table, the text in the page', () => {
    const text = RETURN_LABEL.bytes.toString('latin1')
    expect(RETURN_LABEL).toMatchObject({ name: 'return-label.pdf', contentType: 'application/pdf' })
    expect(text.startsWith('%PDF-1.4\n')).toBe(true)
    expect(text.endsWith('%%EOF\n')).toBe(true)
    const xref = Number(/startxref\n(\d+)\n/.exec(text)![1])
    expect(text.slice(xref, xref + 5)).toBe('xref\n')
    const entries = [...text.slice(xref).matchAll(/^(\d{10}) 00000 n \n/gm)].map((m) => Number(m[1]))
    expect(entries).toHaveLength(5)
    expect(entries.map((offset) => text.slice(offset, offset + 8))).toEqual([1, 2, 3, 4, 5].map((n) => `${n} 0 obj\n`))
    const stream = /<< \/Length (\d+) >>\nstream\n([\s\S]*?)\nendstream/.exec(text)!
    expect(stream[2]!.length).toBe(Number(stream[1]))
    expect(stream[2]).toContain("(Order #1042) '")
  })
})
