import jsonata from 'jsonata'
import { describe, expect, it } from 'vitest'
import { mayMatch } from '../../src/webhook/ruleGuards'

// The pre-check may only skip a rule whose `when` JSONata itself finds false: checked over a matrix.
const expressions = [
  'event = "message.created"',
  'event = "message.created" and message.author.type = "agent"',
  '"agent" = message.author.type and event = "message.created"',
  'message.id = 5',
  'flag = true and event = "x"',
  'event = "message.created" or event = "x"',
  '$exists(event) and event = "x"',
  'items.kind = "a"',
  'message[0].author.type = "agent"',
  '$lowercase(event) = "x"',
]
const objects: unknown[] = [
  { event: 'message.created', message: { id: 5, author: { type: 'agent' } } },
  { event: 'message.created', message: { id: '5', author: { type: 'contact' } } },
  { event: 'x', flag: true },
  { event: 'X' },
  { event: ['message.created'] },
  { message: [{ author: { type: 'agent' } }], event: 'message.created' },
  { items: [{ kind: 'a' }, { kind: 'b' }] },
  { message: null },
  'a string',
  [],
  {},
]

describe('event rule pre-check', () => {
  it('skips a rule only when its expression is false for that object', async () => {
    let skipped = 0
    for (const source of expressions) {
      for (const object of objects) {
        if (mayMatch(source, object)) continue
        skipped++
        expect(await jsonata(source).evaluate(object), `${source} on ${JSON.stringify(object)}`).toBeFalsy()
      }
    }
    expect(skipped).toBeGreaterThan(20) // it does skip the common case
  })

  it('leaves arrays, functions and `or` to JSONata', () => {
    expect(mayMatch('event = "message.created"', { event: ['message.created'] })).toBe(true)
    expect(mayMatch('items.kind = "a"', { items: [{ kind: 'a' }] })).toBe(true)
    expect(mayMatch('$lowercase(event) = "x"', { event: 'X' })).toBe(true)
    expect(mayMatch('event = "a" or event = "b"', { event: 'b' })).toBe(true)
  })
})
