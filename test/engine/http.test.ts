// Vendor requests over real HTTP to the stub helpdesk: retries, okStatus, error messages without secrets,
// timeouts, bodies, auth, forEach and when.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { VendorRequestError } from '../../src/http/sendRequest'
import { OperationResultError } from '../../src/operations/runSteps'
import { engineOf, mappingObject, rejection } from './helpers'

const TOKEN = 'tok-SECRET-8842-zz'
let stub: StubHelpdesk

beforeAll(async () => {
  stub = await startStubHelpdesk()
})
afterAll(async () => stub.close())
afterEach(() => stub.reset())

const settings = () => ({ baseUrl: stub.url, apiToken: TOKEN })
const http = (extra: Record<string, unknown> = {}) => ({
  baseUrl: '{{ $settings.baseUrl }}/api',
  auth: { type: 'bearer', token: '{{ $settings.apiToken }}' },
  timeoutMs: 5000,
  ...extra,
})
const ticketRequest = (extra: Record<string, unknown> = {}) => ({
  userId: 'u1',
  externalUserId: 'c1',
  user: { name: 'Ada' },
  title: 'Help',
  messageHistory: [],
  ...extra,
})

describe('retries', () => {
  it('a 429 with Retry-After: 1 on an idempotent PUT is retried and succeeds', async () => {
    const engine = engineOf(mappingObject({ http: http({ retry: { limit: 2, maxRetryAfterSeconds: 5 } }) }), settings())
    stub.enqueue({ status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow down' } }, { status: 200, body: { ok: true } })
    await engine.closeTicket({ ticketId: 'T1' })
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /api/tickets/T1', 'PUT /api/tickets/T1'])
  })

  it('a POST is not retried on 503', async () => {
    const engine = engineOf(mappingObject({ http: http({ retry: { limit: 2 } }) }), settings())
    stub.enqueue({ status: 503, body: { message: 'maintenance' } }, { status: 200, body: { id: 'T9' } })
    const e = await rejection(engine.createTicket(ticketRequest()))
    expect(e).toBeInstanceOf(VendorRequestError)
    expect(e.message).toBe('createTicket step "t": POST /api/tickets answered 503: maintenance')
    expect(stub.requests).toHaveLength(1)
  })

  it('a POST is retried on 429 (the vendor did not act) and succeeds once', async () => {
    const engine = engineOf(mappingObject({ http: http({ retry: { limit: 2, maxRetryAfterSeconds: 5 } }) }), settings())
    stub.enqueue({ status: 429, headers: { 'retry-after': '0' }, body: { message: 'slow down' } }, { status: 201, body: { id: 'T9' } })
    expect(await engine.createTicket(ticketRequest())).toBe('T9')
    expect(stub.requests.map((r) => r.method)).toEqual(['POST', 'POST'])
  })

  it('a POST is retried on 503 with Retry-After (the vendor did not act)', async () => {
    const engine = engineOf(mappingObject({ http: http({ retry: { limit: 2, maxRetryAfterSeconds: 5 } }) }), settings())
    stub.enqueue({ status: 503, headers: { 'retry-after': '1' }, body: { message: 'maintenance' } }, { status: 201, body: { id: 'T9' } })
    expect(await engine.createTicket(ticketRequest())).toBe('T9')
    expect(stub.requests).toHaveLength(2)
  })

  it('a POST is not retried on a dropped connection (the vendor may have acted)', async () => {
    const server = createServer((req) => req.socket.destroy())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    let hits = 0
    server.on('request', () => hits++)
    const port = (server.address() as AddressInfo).port
    const e = await rejection(
      engineOf(mappingObject({ http: http({ retry: { limit: 2 } }) }), { baseUrl: `http://127.0.0.1:${port}`, apiToken: TOKEN }).createTicket(ticketRequest()),
    )
    server.close()
    expect(e).toBeInstanceOf(VendorRequestError)
    expect(e.message).toMatch(/^createTicket step "t": POST \/api\/tickets failed/)
    expect(hits).toBe(1)
  })

  it('a POST marked idempotent: true is retried on 503 and succeeds', async () => {
    const mapping = mappingObject({
      http: http({ retry: { limit: 2 } }),
      operations: {
        createTicket: {
          steps: [{ id: 't', request: { method: 'POST', path: '/tickets', body: '{"title": title}', idempotent: true } }],
          result: { ticketId: '$steps.t.body.id' },
        },
      },
    })
    stub.enqueue({ status: 503, body: { message: 'maintenance' } }, { status: 201, body: { id: 'T9' } })
    expect(await engineOf(mapping, settings()).createTicket(ticketRequest())).toBe('T9')
    expect(stub.requests.map((r) => r.method)).toEqual(['POST', 'POST'])
    expect(stub.requests[1]!.body).toEqual({ title: 'Help' })
  })

  it('retries stop at the limit and the last answer is reported', async () => {
    const engine = engineOf(mappingObject({ http: http({ retry: { limit: 1 } }) }), settings())
    stub.enqueue({ status: 502, body: { message: 'bad gateway 1' } }, { status: 502, body: { message: 'bad gateway 2' } }, { status: 200 })
    const e = await rejection(engine.closeTicket({ ticketId: 'T1' }))
    expect(e.message).toBe('closeTicket step 1: PUT /api/tickets/T1 answered 502: bad gateway 2')
    expect(stub.requests).toHaveLength(2)
  })

  it('a status outside retry.statusCodes is not retried', async () => {
    const engine = engineOf(mappingObject({ http: http({ retry: { limit: 2, statusCodes: [429] } }) }), settings())
    stub.enqueue({ status: 503, body: { message: 'down' } }, { status: 200 })
    await expect(engine.closeTicket({ ticketId: 'T1' })).rejects.toThrow('answered 503: down')
    expect(stub.requests).toHaveLength(1)
  })

  it('a Retry-After beyond maxRetryAfterSeconds is not waited for: the request fails at once, without a retry', async () => {
    const engine = engineOf(mappingObject({ http: http({ retry: { limit: 2, maxRetryAfterSeconds: 2 } }) }), settings())
    stub.enqueue({ status: 429, headers: { 'retry-after': '3600' }, body: { message: 'come back in an hour' } }, { status: 200 })
    const e = await rejection(engine.closeTicket({ ticketId: 'T1' }))
    expect(e.message).toBe('closeTicket step 1: PUT /api/tickets/T1 answered 429: come back in an hour')
    expect(stub.requests).toHaveLength(1)
  })
})

describe('okStatus', () => {
  it('okStatus: [404] lets a 404 through', async () => {
    const mapping = mappingObject({
      operations: { closeTicket: { steps: [{ request: { method: 'PUT', path: '/tickets/{{ ticketId }}', okStatus: [404] } }] } },
    })
    stub.enqueue({ status: 404, body: { message: 'no such ticket' } })
    await expect(engineOf(mapping, settings()).closeTicket({ ticketId: 'gone' })).resolves.toBeUndefined()
    expect(stub.requests).toHaveLength(1)
  })

  it('without okStatus a 404 fails, naming the operation, step, method, path, status and vendor message', async () => {
    stub.enqueue({ status: 404, body: { message: 'no such ticket' } })
    const e = await rejection(engineOf(mappingObject(), settings()).closeTicket({ ticketId: 'gone' }))
    expect(e).toBeInstanceOf(VendorRequestError)
    expect((e as VendorRequestError).status).toBe(404)
    expect(e.message).toBe('closeTicket step 1: PUT /api/tickets/gone answered 404: no such ticket')
  })

  it('the okStatus response is readable by later steps and the result', async () => {
    const mapping = mappingObject({
      operations: {
        createUser: {
          steps: [
            { id: 'find', request: { method: 'GET', path: '/users/{{ userId }}', okStatus: [404] } },
            { id: 'make', when: '$steps.find.status = 404', request: { method: 'POST', path: '/users', body: '{"name": name}' } },
          ],
          result: { externalUserId: '$steps.find.status = 404 ? $steps.make.body.id : $steps.find.body.id' },
        },
      },
    })
    stub.enqueue({ status: 404, body: { message: 'not found' } }, { status: 201, body: { id: 'c-77' } })
    expect(await engineOf(mapping, settings()).createUser({ userId: 'u1', name: 'Ada' })).toBe('c-77')
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/users/u1', 'POST /api/users'])
  })
})

describe('vendor error messages', () => {
  // The token travels in the query (apiKey auth), in a header and in the path; the vendor echoes it back.
  const leaky = (errorMessage?: string) =>
    mappingObject({
      http: {
        baseUrl: '{{ $settings.baseUrl }}/api',
        auth: { type: 'apiKey', in: 'query', name: 'api_key', value: '{{ $settings.apiToken }}' },
        headers: { 'X-Token': '{{ $settings.apiToken }}' },
        ...(errorMessage ? { errorMessage } : {}),
      },
      operations: {
        createTicket: {
          steps: [{ id: 'ticket', request: { method: 'POST', path: '/accounts/{{ $settings.apiToken }}/tickets', body: '{"title": title}' } }],
          result: { ticketId: '$steps.ticket.body.id' },
        },
      },
    })
  const echo = (shape: 'nested' | 'flat' | 'text') =>
    stub.route({
      path: /.*/,
      respond: (r) => {
        const text = `token ${r.query.api_key} (header ${r.headers['x-token']}) may not create tickets`
        if (shape === 'text') return { status: 403, body: text }
        return { status: 403, body: shape === 'nested' ? { error: { message: text, code: 'forbidden' } } : { message: text } }
      },
    })

  it('uses the errorMessage expression, and masks the token everywhere in the message', async () => {
    echo('nested')
    const e = await rejection(engineOf(leaky('error.message & " [" & error.code & "]"'), settings()).createTicket(ticketRequest()))
    // The vendor did receive the token (so the masking below is not vacuous).
    expect(stub.requests[0]!.query.api_key).toBe(TOKEN)
    expect(stub.requests[0]!.headers['x-token']).toBe(TOKEN)
    expect(stub.requests[0]!.path).toBe(`/api/accounts/${TOKEN}/tickets`)
    expect(e.message).toBe('createTicket step "ticket": POST /api/accounts/***/tickets answered 403: token *** (header ***) may not create tickets [forbidden]')
    expect(e.message).not.toContain(TOKEN)
  })

  it('without errorMessage, the vendor message is found in a usual field (message)', async () => {
    echo('flat')
    const e = await rejection(engineOf(leaky(), settings()).createTicket(ticketRequest()))
    expect(e.message).toBe('createTicket step "ticket": POST /api/accounts/***/tickets answered 403: token *** (header ***) may not create tickets')
    expect(e.message).not.toContain(TOKEN)
  })

  it('without errorMessage, a text error body is the vendor message', async () => {
    echo('text')
    const e = await rejection(engineOf(leaky(), settings()).createTicket(ticketRequest()))
    expect(e.message).toBe('createTicket step "ticket": POST /api/accounts/***/tickets answered 403: token *** (header ***) may not create tickets')
  })

  it('when the errorMessage expression finds nothing, the usual fields are used', async () => {
    echo('flat')
    const e = await rejection(engineOf(leaky('error.message'), settings()).createTicket(ticketRequest()))
    expect(e.message).toBe('createTicket step "ticket": POST /api/accounts/***/tickets answered 403: token *** (header ***) may not create tickets')
  })

  it('a message step of sendMessage is named too', async () => {
    stub.enqueue({ status: 422, body: { error: 'text too long' } })
    const e = await rejection(engineOf(mappingObject(), settings()).sendMessage({ ticketId: 'T1', type: 'text', payload: { text: 'hi' } }))
    expect(e.message).toBe('sendMessage.text step 1: POST /api/tickets/T1/messages answered 422: text too long')
  })
})

describe('timeouts', () => {
  let silent: Server
  let silentUrl: string
  let seen = 0
  beforeAll(async () => {
    // Accepts the request and never answers.
    silent = createServer(() => {
      seen++
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    silent.closeAllConnections()
    await new Promise<void>((resolve) => silent.close(() => resolve()))
  })

  it('a vendor that never answers fails the step with a clear message (timeoutMs: 300)', async () => {
    const engine = engineOf(mappingObject({ http: http({ timeoutMs: 300 }) }), { baseUrl: silentUrl, apiToken: TOKEN })
    const e = await rejection(engine.createTicket(ticketRequest()))
    expect(e).toBeInstanceOf(VendorRequestError)
    expect(e.message).toMatch(/^createTicket step "t": POST \/api\/tickets failed: ETIMEDOUT Timeout awaiting 'request' for 300ms$/)
    expect(seen).toBe(1)
  })
})

describe('request bodies', () => {
  it('a JSON body is sent as application/json', async () => {
    await engineOf(mappingObject(), settings())
      .createTicket(ticketRequest())
      .catch(() => undefined)
    expect(stub.requests[0]!.headers['content-type']).toBe('application/json')
    expect(stub.requests[0]!.bodyText).toBe('{"title":"Help"}')
  })

  it('a form body is form-encoded', async () => {
    const mapping = mappingObject({
      operations: {
        createTicket: {
          steps: [
            {
              id: 't',
              request: { method: 'POST', path: '/tickets', form: '{"subject": title, "count": 2, "urgent": true, "note": "a&b=c d", "skip": missing}' },
            },
          ],
          result: { ticketId: '$steps.t.body.id' },
        },
      },
    })
    stub.enqueue({ status: 201, body: { id: 5 } })
    expect(await engineOf(mapping, settings()).createTicket(ticketRequest({ title: 'Hello world' }))).toBe('5')
    const r = stub.requests[0]!
    expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(r.bodyText).toBe('subject=Hello+world&count=2&urgent=true&note=a%26b%3Dc+d')
    expect(r.body).toEqual({ subject: 'Hello world', count: '2', urgent: 'true', note: 'a&b=c d' })
  })

  it('a request without a body sends none', async () => {
    const mapping = mappingObject({ operations: { closeTicket: { steps: [{ request: { method: 'DELETE', path: '/tickets/{{ ticketId }}' } }] } } })
    await engineOf(mapping, settings()).closeTicket({ ticketId: 'T1' })
    expect(stub.requests[0]!.method).toBe('DELETE')
    expect(stub.requests[0]!.bodyText).toBe('')
    expect(stub.requests[0]!.headers['content-type']).toBeUndefined()
  })
})

describe('auth', () => {
  const withAuth = (auth: Record<string, unknown>, requestAuth?: Record<string, unknown>) =>
    mappingObject({
      settings: { baseUrl: { required: true }, apiToken: { required: true, secret: true }, email: { default: 'agent@example.com' } },
      http: { baseUrl: '{{ $settings.baseUrl }}/api', auth },
      operations: { closeTicket: { steps: [{ request: { method: 'PUT', path: '/tickets/{{ ticketId }}', ...(requestAuth ? { auth: requestAuth } : {}) } }] } },
    })
  const send = async (mapping: Record<string, unknown>) => {
    await engineOf(mapping, settings()).closeTicket({ ticketId: 'T1' })
    expect(stub.requests).toHaveLength(1)
    return stub.requests[0]!
  }

  it('basic', async () => {
    const r = await send(withAuth({ type: 'basic', username: '{{ $settings.email }}/token', password: '{{ $settings.apiToken }}' }))
    expect(r.headers.authorization).toBe(`Basic ${Buffer.from(`agent@example.com/token:${TOKEN}`).toString('base64')}`)
  })

  it('bearer', async () => {
    const r = await send(withAuth({ type: 'bearer', token: '{{ $settings.apiToken }}' }))
    expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`)
  })

  it('apiKey in a header', async () => {
    const r = await send(withAuth({ type: 'apiKey', in: 'header', name: 'X-Api-Key', value: 'key {{ $settings.apiToken }}' }))
    expect(r.headers['x-api-key']).toBe(`key ${TOKEN}`)
    expect(r.headers.authorization).toBeUndefined()
    expect(r.query).toEqual({})
  })

  it('apiKey in the query', async () => {
    const r = await send(withAuth({ type: 'apiKey', in: 'query', name: 'api_key', value: '{{ $settings.apiToken }}' }))
    expect(r.query).toEqual({ api_key: TOKEN })
    expect(r.headers.authorization).toBeUndefined()
  })

  it('a request-level auth overrides the default, and type none sends no credentials', async () => {
    const r = await send(withAuth({ type: 'bearer', token: '{{ $settings.apiToken }}' }, { type: 'none' }))
    expect(r.headers.authorization).toBeUndefined()
    stub.reset()
    const basic = await send(withAuth({ type: 'bearer', token: '{{ $settings.apiToken }}' }, { type: 'basic', username: 'u', password: 'p' }))
    expect(basic.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`)
  })
})

describe('steps', () => {
  it('forEach sends one request per item with $item and $index; $steps.<id> is the list of responses', async () => {
    const mapping = mappingObject({
      operations: {
        createTicket: {
          steps: [
            { id: 'ticket', request: { method: 'POST', path: '/tickets', body: '{"title": title}' } },
            {
              id: 'notes',
              forEach: 'messageHistory',
              request: { method: 'POST', path: '/tickets/{{ $steps.ticket.body.id }}/notes', body: '{"n": $index, "who": $item.author, "text": $item.text}' },
            },
            {
              id: 'done',
              request: {
                method: 'PUT',
                path: '/tickets/{{ $steps.ticket.body.id }}',
                body: '{"notes": $count($steps.notes), "last": $steps.notes[-1].body.id}',
              },
            },
          ],
          result: { ticketId: '$steps.ticket.body.id' },
        },
      },
    })
    stub.enqueue({ status: 201, body: { id: 'T7' } }, { body: { id: 'n0' } }, { body: { id: 'n1' } }, { body: { id: 'n2' } }, { body: {} })
    const history = [
      { source: { type: 'user' }, type: 'text', payload: { text: 'hello' } },
      { source: { type: 'bot' }, type: 'text', payload: { text: 'hi, how can I help?' } },
      { source: { type: 'user' }, type: 'image', payload: { imageUrl: 'https://x.example/a.png' } },
    ]
    expect(await engineOf(mapping, settings()).createTicket(ticketRequest({ messageHistory: history, botName: 'Botty' }))).toBe('T7')
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/tickets',
      'POST /api/tickets/T7/notes',
      'POST /api/tickets/T7/notes',
      'POST /api/tickets/T7/notes',
      'PUT /api/tickets/T7',
    ])
    expect(stub.requests.slice(1, 4).map((r) => r.body)).toEqual([
      { n: 0, who: 'Ada', text: 'hello' },
      { n: 1, who: 'Botty', text: 'hi, how can I help?' },
      { n: 2, who: 'Ada', text: '[image] https://x.example/a.png' },
    ])
    expect(stub.requests[4]!.body).toEqual({ notes: 3, last: 'n2' })
  })

  it('forEach over nothing sends nothing', async () => {
    const mapping = mappingObject({
      operations: {
        closeTicket: { steps: [{ forEach: 'tags', request: { method: 'DELETE', path: '/tags/{{ $item }}' } }] },
      },
    })
    await engineOf(mapping, settings()).closeTicket({ ticketId: 'T1' })
    expect(stub.requests).toHaveLength(0)
  })

  it("when: 'false' skips a step; a when that depends on the input runs it only when true", async () => {
    const mapping = mappingObject({
      operations: {
        createTicket: {
          steps: [
            { id: 'never', when: 'false', request: { method: 'POST', path: '/never' } },
            { id: 'titled', when: 'title != ""', request: { method: 'POST', path: '/titled', body: '{"t": title}' } },
            { id: 't', request: { method: 'POST', path: '/tickets', body: '{"never": $exists($steps.never), "titled": $exists($steps.titled)}' } },
          ],
          result: { ticketId: '"fixed"' },
        },
      },
    })
    const engine = engineOf(mapping, settings())
    await engine.createTicket(ticketRequest({ title: '' }))
    expect(stub.requests.map((r) => r.path)).toEqual(['/api/tickets'])
    expect(stub.requests[0]!.body).toEqual({ never: false, titled: false })
    stub.reset()
    await engine.createTicket(ticketRequest({ title: 'Refund' }))
    expect(stub.requests.map((r) => r.path)).toEqual(['/api/titled', '/api/tickets'])
    expect(stub.requests[1]!.body).toEqual({ never: false, titled: true })
  })

  it('a result id that is missing fails with a message naming the operation and the result field', async () => {
    stub.enqueue({ status: 201, body: { ticket: { id: 'T1' } } })
    const e = await rejection(engineOf(mappingObject(), settings()).createTicket(ticketRequest()))
    expect(e).toBeInstanceOf(OperationResultError)
    expect(e.message).toBe("createTicket: result.ticketId is undefined; check the expression against the vendor's response")
  })

  it('numeric ids are returned as strings', async () => {
    stub.enqueue({ status: 201, body: { id: 12345 } })
    expect(await engineOf(mappingObject(), settings()).createTicket(ticketRequest())).toBe('12345')
  })
})

describe('hosts a mapping may send requests to', () => {
  const viaUrl = (url: string) => ({ closeTicket: { steps: [{ request: { method: 'PUT', url, body: '{"status": "closed"}' } }] } })
  const localhostUrl = () => `${stub.url.replace('127.0.0.1', 'localhost')}/elsewhere`

  it('a step whose url leaves the base URL host is refused before anything is sent, naming both hosts', async () => {
    const engine = engineOf(
      mappingObject({ http: http(), operations: viaUrl(`${stub.url.replace('127.0.0.1', 'localhost')}/steal?token={{ $settings.apiToken }}`) }),
      settings(),
    )
    const e = await rejection(engine.closeTicket({ ticketId: 'T1' }))
    const port = new URL(stub.url).port
    expect(e.message).toBe(
      `requests may only go to http://127.0.0.1:${port}, not http://localhost:${port}; list it in http.allowedHosts if it is the helpdesk's`,
    )
    expect(e.message).not.toContain(TOKEN)
    expect(stub.requests).toHaveLength(0)
  })

  it('origins listed in http.allowedHosts are allowed; a bare host name (exact or *.subdomain) only on its default port', async () => {
    const origin = new URL(localhostUrl()).origin
    const engine = engineOf(mappingObject({ http: http({ allowedHosts: [origin] }), operations: viaUrl(localhostUrl()) }), settings())
    await engine.closeTicket({ ticketId: 'T1' })
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /elsewhere'])
    const bare = engineOf(mappingObject({ http: http({ allowedHosts: ['localhost'] }), operations: viaUrl(localhostUrl()) }), settings())
    expect((await rejection(bare.closeTicket({ ticketId: 'T1' }))).message).toContain(`not ${origin}`)
    const wildcard = engineOf(mappingObject({ http: http({ allowedHosts: ['*.example.com'] }), operations: viaUrl('http://api.example.org/x') }), settings())
    expect((await rejection(wildcard.closeTicket({ ticketId: 'T1' }))).message).toContain('not http://api.example.org')
    expect(stub.requests).toHaveLength(1)
  })

  it('the base URL host on another port does not get the token', async () => {
    const other = createServer((_req, res) => res.end('{}'))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    const port = (other.address() as AddressInfo).port
    let hits = 0
    other.on('request', () => hits++)
    const engine = engineOf(mappingObject({ http: http(), operations: viaUrl(`http://127.0.0.1:${port}/x`) }), settings())
    const e = await rejection(engine.closeTicket({ ticketId: 'T1' }))
    other.close()
    expect(e.message).toContain(`not http://127.0.0.1:${port}`)
    expect(hits).toBe(0)
  })

  it('a "." or ".." path value is refused before anything is sent', async () => {
    const engine = engineOf(mappingObject({ http: http() }), settings())
    for (const ticketId of ['..', '.']) {
      const e = await rejection(engine.sendMessage({ ticketId, type: 'text', payload: { text: 'hi' } }))
      expect(e.message).toMatch(/^sendMessage\.text step 1: the request path ".*" has a ".*" segment/)
    }
    expect(stub.requests).toHaveLength(0)
    // Anything else is sent encoded: '%2e%2e' becomes '%252e%252e', which no server reads as a dot segment.
    await engine.sendMessage({ ticketId: '..x', type: 'text', payload: { text: 'hi' } })
    await engine.sendMessage({ ticketId: '%2e%2e', type: 'text', payload: { text: 'hi' } })
    expect(stub.requests.map((r) => r.path)).toEqual(['/api/tickets/..x/messages', '/api/tickets/%252e%252e/messages'])
  })
})

describe('expression failures name their place', () => {
  it('a body expression that fails at run time names the operation and step', async () => {
    const mapping = mappingObject({
      http: http(),
      operations: {
        createTicket: {
          steps: [{ id: 't', request: { method: 'POST', path: '/tickets', body: '{"n": $number("not a number")}' } }],
          result: { ticketId: '$steps.t.body.id' },
        },
      },
    })
    const e = await rejection(engineOf(mapping, settings()).createTicket(ticketRequest()))
    expect(e.message).toMatch(/^createTicket step "t": Unable to cast value to a number/)
    expect(stub.requests).toHaveLength(0)
  })
})
