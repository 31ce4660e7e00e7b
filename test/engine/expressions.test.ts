// Expressions (JSONata, typed results) and templates (always text): values, encoding, the sandbox limits,
// the extra functions and where a syntax error is reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileExpression, ExpressionEvaluationError, ExpressionSyntaxError } from '../../src/expr/compileExpression'
import { compileTemplate } from '../../src/expr/compileTemplate'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { engineOf, mappingObject } from './helpers'

const evaluate = (source: string, context: unknown = {}, scope: Record<string, unknown> = {}) => compileExpression(source).evaluate(context, scope)
const render = (source: string, context: unknown = {}, options?: { encode?: boolean }) => compileTemplate(source).render(context, {}, options)

/** The error an evaluation rejects with. */
async function evaluationError(source: string): Promise<ExpressionEvaluationError> {
  try {
    await evaluate(source)
  } catch (e) {
    return e as ExpressionEvaluationError
  }
  throw new Error(`expected ${source} to fail`)
}

/** The ExpressionSyntaxError a compile throws. */
function syntaxError(compile: () => unknown): ExpressionSyntaxError {
  try {
    compile()
  } catch (e) {
    if (e instanceof ExpressionSyntaxError) return e
    throw e
  }
  throw new Error('expected a syntax error')
}

describe('expressions keep JSON types', () => {
  it('numbers, booleans, strings, null, arrays and objects come back as such', async () => {
    expect(await evaluate('n + 1', { n: 41 })).toBe(42)
    expect(await evaluate('flag', { flag: false })).toBe(false)
    expect(await evaluate('"a" & "b"')).toBe('ab')
    expect(await evaluate('null')).toBeNull()
    expect(await evaluate('[1, "two", true]')).toEqual([1, 'two', true])
    expect(await evaluate('{"ticket": {"subject": title, "tags": tags, "n": $count(tags)}}', { title: 'Help', tags: ['a', 'b'] })).toEqual({
      ticket: { subject: 'Help', tags: ['a', 'b'], n: 2 },
    })
  })

  it('a path that matches nothing is undefined, and object fields that are undefined are dropped', async () => {
    expect(await evaluate('missing.path')).toBeUndefined()
    expect(await evaluate('{"a": missing, "b": 1}')).toEqual({ b: 1 })
  })

  it('a sequence of several values is a plain array (a single match is the value itself)', async () => {
    const many = await evaluate('items.id', { items: [{ id: 1 }, { id: 2 }] })
    expect(many).toEqual([1, 2])
    expect(Array.isArray(many)).toBe(true)
    expect(Object.getPrototypeOf(many)).toBe(Array.prototype)
    expect(await evaluate('items.id', { items: [{ id: 7 }] })).toBe(7)
  })

  it('variables come from the scope', async () => {
    expect(await evaluate('$settings.queue & "/" & $steps.ticket.body.id', {}, { settings: { queue: 'q1' }, steps: { ticket: { body: { id: 9 } } } })).toBe(
      'q1/9',
    )
  })
})

describe('templates always render text', () => {
  it('interpolates values of every type as text; undefined and null render as nothing', async () => {
    const context = { s: 'x', n: 3, f: 1.5, b: false, o: { k: [1] }, a: [1, 2], nul: null }
    expect(await render('{{ s }}|{{ n }}|{{ f }}|{{ b }}|{{ o }}|{{ a }}|{{ nul }}|{{ missing }}|', context)).toBe('x|3|1.5|false|{"k":[1]}|[1,2]|||')
  })

  it('text without {{ }} is constant and returned as is', async () => {
    const t = compileTemplate('/plain/path')
    expect(t.constant).toBe(true)
    expect(await t.render({}, {})).toBe('/plain/path')
    expect(compileTemplate('/t/{{ id }}').constant).toBe(false)
  })

  it('with encode, each interpolated value is URL-encoded and the literal text is not', async () => {
    expect(await render('/tickets/{{ id }}/x?{{ q }}', { id: 'a/b', q: 'c d&e' }, { encode: true })).toBe('/tickets/a%2Fb/x?c%20d%26e')
    expect(await render('/tickets/{{ id }}', { id: 'a/b' })).toBe('/tickets/a/b')
  })

  describe('in a request, path values are URL-encoded while header values are not', () => {
    let stub: StubHelpdesk
    beforeAll(async () => {
      stub = await startStubHelpdesk()
    })
    afterAll(async () => stub.close())

    it('a/b in the path arrives as a%2Fb; in a header it arrives as a/b', async () => {
      const mapping = mappingObject({
        operations: {
          closeTicket: { steps: [{ request: { method: 'PUT', path: '/tickets/{{ ticketId }}', headers: { 'X-Ticket': '{{ ticketId }}' } } }] },
        },
      })
      const engine = engineOf(mapping, { baseUrl: stub.url, apiToken: 'tok-123456' })
      await engine.closeTicket({ ticketId: 'a/b c' })
      expect(stub.requests).toHaveLength(1)
      expect(stub.requests[0]!.path).toBe('/api/tickets/a%2Fb%20c')
      expect(stub.requests[0]!.headers['x-ticket']).toBe('a/b c')
    })
  })
})

describe('the sandbox: no $eval, time and depth limits', () => {
  it('$eval is refused with a clear error', async () => {
    const e = await evaluationError('$eval("1 + 1")')
    expect(e).toBeInstanceOf(ExpressionEvaluationError)
    expect(e.message).toBe('$eval is not available in mappings')
  })

  it('an endless (tail-recursive) loop is stopped by the time limit with an error', async () => {
    const e = await evaluationError('( $loop := function($n) { $loop($n + 1) }; $loop(0) )')
    expect(e).toBeInstanceOf(ExpressionEvaluationError)
    expect(e.code).toBe('D1012')
    expect(e.message).toMatch(/timeout/i)
  })

  it('deep recursion is stopped by the depth limit with an error', async () => {
    const e = await evaluationError('( $deep := function($n) { 1 + $deep($n + 1) }; $deep(0) )')
    expect(e).toBeInstanceOf(ExpressionEvaluationError)
    expect(e.code).toBe('D1011')
    expect(e.message).toMatch(/stack overflow/i)
  })

  it('the limits are per evaluation: the same compiled expression works again after a stopped run', async () => {
    const e = compileExpression('n > 0 ? ( $loop := function($n) { $loop($n + 1) }; $loop(0) ) : "done"')
    await expect(e.evaluate({ n: 1 }, {})).rejects.toThrow(ExpressionEvaluationError)
    expect(await e.evaluate({ n: 0 }, {})).toBe('done')
  })

  it('an error inside an expression is an ExpressionEvaluationError with jsonata code', async () => {
    const e = await evaluationError('"a" + 1')
    expect(e).toBeInstanceOf(ExpressionEvaluationError)
    expect(e.code).toBe('T2001')
  })
})

describe('$hmac and $base64', () => {
  const message = 'The quick brown fox jumps over the lazy dog'
  // RFC 2104 examples as published for this key and message.
  const vectors = [
    ['sha1', 'hex', 'de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9'],
    ['sha256', 'hex', 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'],
    ['sha512', 'hex', 'b42af09057bac1e2d41708e48a902e09b5ff7f12ab428a4fe86653c73dd248fb82f948a549f7b791a5b41915ee4d1ec3935357e4e2317250d0372afa2ebeeb3a'],
    ['sha1', 'base64', '3nybhbi3iqa8ino29wqQcBydtNk='],
    ['sha256', 'base64', '97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg='],
  ] as const
  for (const [algorithm, encoding, expected] of vectors) {
    it(`$hmac("${algorithm}", …, "${encoding}")`, async () => {
      expect(await evaluate(`$hmac("${algorithm}", "key", msg, "${encoding}")`, { msg: message })).toBe(expected)
    })
  }

  it('$hmac defaults to hex', async () => {
    expect(await evaluate('$hmac("sha256", "key", msg)', { msg: message })).toBe(vectors[1][2])
  })

  it('$hmac refuses an unknown algorithm', async () => {
    await expect(evaluate('$hmac("md5", "key", "x")')).rejects.toThrow('$hmac: unsupported algorithm "md5"')
  })

  it('$base64 encodes UTF-8 text', async () => {
    expect(await evaluate('$base64("héllo")')).toBe('aMOpbGxv')
    expect(await evaluate('$base64(user & ":" & pass)', { user: 'a', pass: 'b' })).toBe(Buffer.from('a:b').toString('base64'))
  })
})

describe('syntax errors give the character offset of the problem', () => {
  // [expression, offset the error must point at, what is there]
  const cases: [string, number, string][] = [
    ['a = = b', 4, 'the second "="'],
    ['a ]', 2, 'the stray "]"'],
    ['x ? : y', 4, 'the ":" with no operand before it'],
    ['foo bar', 4, 'the second name'],
    ['a 12', 2, 'a number token (length 2)'],
    ['"x" "y"', 4, 'the opening quote of the second string'],
    ['foo(', 4, 'the end: ")" is missing'],
    ['$steps.ticket.body.(', 20, 'the end: ")" is missing'],
    ['{"a": 1', 7, 'the end: "}" is missing'],
    ['a +   ', 3, 'right after the last character (trailing blanks ignored)'],
    ['a /* no end', 2, 'the comment that is never closed'],
  ]
  for (const [source, offset, what] of cases) {
    it(`${JSON.stringify(source)} → ${offset} (${what})`, () => {
      const e = syntaxError(() => compileExpression(source))
      expect(e.position).toBe(offset)
      expect(e.message.length).toBeGreaterThan(0)
    })
  }

  it('inside a template, the offset is in the whole template text', () => {
    const source = '/x/{{ id }}/y/{{ a = = b }}'
    const e = syntaxError(() => compileTemplate(source))
    expect(e.position).toBe(source.indexOf('= b'))
  })

  it('an unfinished expression inside a template points at its end, before the }}', () => {
    const source = '/x/{{ a + }}/y'
    const e = syntaxError(() => compileTemplate(source))
    expect(e.position).toBe(source.indexOf('+') + 1)
    expect(e.message).toMatch(/end of expression/)
  })

  it('an unclosed {{ and an empty {{ }} point at the {{', () => {
    expect(syntaxError(() => compileTemplate('ab {{ x')).position).toBe(3)
    expect(syntaxError(() => compileTemplate('abc {{  }} d')).position).toBe(4)
  })
})
