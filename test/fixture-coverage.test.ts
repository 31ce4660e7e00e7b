import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileMappingText } from '../src/mapping/loadMapping'
import { MESSAGE_TYPES, type MappingFile, type WebhookFixture } from '../src/mapping/types'

/**
 * Every shipped mapping carries fixtures for what a hand-off needs, so a gap shows here instead of in a bot:
 * an agent reply → newMessage, the end user's own message and a private note → nothing, assigned, solved, a
 * signed delivery accepted and an unsigned or forged one rejected, and one case per operation and per distinct
 * sendMessage entry. Cases are recognised by what they expect; echo and private-note cases carry a `covers:` tag
 * (what they expect, no event, cannot tell them from any other ignored delivery).
 */
const dir = join(__dirname, '..', 'mappings')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))

type Need = { what: string; met: (hooks: WebhookFixture[]) => boolean }

const emits = (type: string) => (w: WebhookFixture) => (w.expect.events ?? []).some((e) => e.type === type)
const accepted = (w: WebhookFixture) => w.expect.status === undefined || w.expect.status === 200
const ignored = (w: WebhookFixture) => accepted(w) && Array.isArray(w.expect.events) && w.expect.events.length === 0

function webhookNeeds(file: MappingFile): Need[] {
  const signed = file.webhook.verify !== 'none'
  return [
    { what: 'an agent reply → newMessage', met: (h) => h.some(emits('newMessage')) },
    {
      what: "the end user's own message coming back → no event (covers: [customerMessage])",
      met: (h) => h.some((w) => w.covers?.includes('customerMessage') && ignored(w)),
    },
    { what: 'a private note → no event (covers: [privateNote])', met: (h) => h.some((w) => w.covers?.includes('privateNote') && ignored(w)) },
    { what: 'assigned', met: (h) => h.some(emits('assigned')) },
    { what: 'solved', met: (h) => h.some(emits('solved')) },
    ...(signed
      ? [
          { what: 'a signed delivery that is accepted (sign: true)', met: (h: WebhookFixture[]) => h.some((w) => w.sign === true && accepted(w)) },
          {
            what: 'an unsigned or forged delivery rejected (sign: false, status: 401)',
            met: (h: WebhookFixture[]) => h.some((w) => !w.sign && w.expect.status === 401),
          },
        ]
      : []),
  ]
}

/**
 * Operations the mapping defines, and for sendMessage each distinct entry: entries that share one definition (a
 * YAML anchor, as `image: *note`) are one entry, covered by a case of any of their types.
 */
function operationNeeds(file: MappingFile): { what: string; met: (f: NonNullable<MappingFile['fixtures']>) => boolean }[] {
  type Fixtures = NonNullable<MappingFile['fixtures']>
  const ops = (['createUser', 'createTicket', 'closeTicket', 'register', 'unregister'] as const).filter((o) => file.operations[o])
  const send = file.operations.sendMessage
  const own = MESSAGE_TYPES.filter((t) => send[t])
  // The entry a message type goes through: its own, else the fallback.
  const entryOf = (type: string) => ((own as string[]).includes(type) ? type : 'fallback')
  const groups = new Map<string, string[]>()
  for (const entry of [...own, ...(send.fallback ? ['fallback' as const] : [])]) {
    const key = JSON.stringify(send[entry])
    groups.set(key, [...(groups.get(key) ?? []), entry])
  }
  const sentEntries = (fx: Fixtures) => (fx.operations ?? []).filter((c) => c.operation === 'sendMessage').map((c) => entryOf(String(c.input?.type ?? 'text')))
  return [
    ...ops.map((o) => ({ what: `a ${o} case`, met: (fx: Fixtures) => (fx.operations ?? []).some((c) => c.operation === o) })),
    ...[...groups.values()].map((entries) => ({
      what: `a sendMessage case through ${entries.join(' / ')}${entries.includes('fallback') ? ' (fallback: a type without its own entry)' : ''}`,
      met: (fx: Fixtures) => sentEntries(fx).some((e) => entries.includes(e)),
    })),
  ]
}

describe.each(files)('fixture coverage of mappings/%s', (name) => {
  const file = compileMappingText(readFileSync(join(dir, name), 'utf8'), `mappings/${name}`).file
  const fx = file.fixtures ?? {}

  it('has a webhook case for each kind of delivery a hand-off meets', () => {
    const missing = webhookNeeds(file)
      .filter((n) => !n.met(fx.webhooks ?? []))
      .map((n) => n.what)
    expect(missing).toEqual([])
  })

  it('has a case for each operation and each sendMessage entry', () => {
    const missing = operationNeeds(file)
      .filter((n) => !n.met(fx))
      .map((n) => n.what)
    expect(missing).toEqual([])
  })

  it('tags only cases that expect no event', () => {
    const wrong = (fx.webhooks ?? []).filter((w) => w.covers?.length && !ignored(w)).map((w) => w.name)
    expect(wrong).toEqual([])
  })
})

// Guards the check itself: a mapping without those cases is reported, each gap by name.
it('reports the gaps of a mapping without fixtures', () => {
  const text = readFileSync(join(dir, 'intercom.yaml'), 'utf8').replace(/\nfixtures:[\s\S]*$/, '\n')
  const file = compileMappingText(text, 'intercom-without-fixtures.yaml').file
  expect(webhookNeeds(file).filter((n) => !n.met([])).length).toBe(7)
  expect(
    operationNeeds(file)
      .filter((n) => !n.met({}))
      .map((n) => n.what),
  ).toEqual([
    'a createUser case',
    'a createTicket case',
    'a closeTicket case',
    'a sendMessage case through text / fallback (fallback: a type without its own entry)',
    'a sendMessage case through image / audio / video / file',
  ])
})
