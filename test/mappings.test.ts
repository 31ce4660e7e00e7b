import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { runFixtures } from '../src/fixtures/runFixtures'
import { compileMappingText } from '../src/mapping/loadMapping'

const dir = join(__dirname, '..', 'mappings')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))

describe.each(files)('shipped mapping %s', (file) => {
  const text = readFileSync(join(dir, file), 'utf8')

  it('starts with the yaml-language-server modeline and compiles', () => {
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/mapping.schema.json')
    expect(() => compileMappingText(text, `mappings/${file}`)).not.toThrow()
  })

  it('carries webhook and operation fixtures, and all of them pass', async () => {
    const results = await runFixtures(text, `mappings/${file}`)
    expect(results.filter((r) => r.kind === 'webhook').length).toBeGreaterThan(0)
    expect(results.filter((r) => r.kind === 'operation').length).toBeGreaterThan(0)
    const failures = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join('; ')}`)
    expect(failures).toEqual([])
  })

  it('a fixture that expects the wrong thing is reported as failing', async () => {
    // Guards the runner itself: the first webhook fixture again, expecting an event it cannot produce.
    const doc = parseDocument(text)
    const first = (doc.toJS().fixtures.webhooks as { name: string; expect: unknown }[])[0]!
    doc.addIn(['fixtures', 'webhooks'], { ...first, name: 'deliberately wrong', expect: { events: [{ type: 'solved', ticketId: 'nope' }] } })
    const results = await runFixtures(doc.toString(), `mappings/${file}`)
    expect(results.find((r) => r.name === 'deliberately wrong')).toMatchObject({ ok: false })
  })
})
