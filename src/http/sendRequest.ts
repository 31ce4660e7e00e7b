import { DiagnosticError, type DiagnosticCode } from '../diagnostics/codes'
import got, { HTTPError, RequestError, type Method } from 'got'
import type { Redactor } from './redact'

export type HttpRequest = {
  method: Method
  url: string
  /** The URL as the mapping rendered it, when `url` was redirected (fixtures, dry runs); for logs. */
  renderedUrl?: string
  headers: Record<string, string>
  query: [string, string][]
  /** Already serialised body and its content type; `bytes` (a multipart upload) is sent instead of `text`, which then only describes it for logs. */
  body?: { text: string; contentType: string; bytes?: Buffer }
  timeoutMs: number
  /** `retryAfterHeader`: a header read like Retry-After (seconds), for vendors that name it otherwise. */
  retry: { limit: number; statusCodes: number[]; maxRetryAfterSeconds: number; retryAfterHeader?: string }
  /** Network errors and retryable statuses are retried for idempotent requests; 429 and 503 + Retry-After for all. */
  idempotent: boolean
  okStatus: number[]
}

export type HttpResponse = { status: number; headers: Record<string, string>; body: unknown; text: string }

/** A vendor call that failed: the message names the place, method, path, status and the vendor's words. */
export class VendorRequestError extends DiagnosticError {
  constructor(
    code: DiagnosticCode,
    message: string,
    readonly status?: number,
    readonly responseBody?: unknown,
  ) {
    super(code, message)
    this.name = 'VendorRequestError'
  }
}

const parseBody = (text: string, contentType: string | undefined): unknown => {
  if (!text) return undefined
  if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

const toResponse = (r: { statusCode: number; headers: Record<string, string | string[] | undefined>; body: string }): HttpResponse => {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
  return { status: r.statusCode, headers, body: parseBody(r.body, headers['content-type']), text: r.body }
}

export type SendOptions = { label: string; redactor: Redactor; vendorMessage?: (body: unknown) => Promise<string | undefined> }

/**
 * A 429, or a 503 with Retry-After, says the vendor did not act on the request: it is safe to send again
 * whatever the method. Any other failure (5xx, dropped connection) may come after the vendor acted, so only
 * idempotent requests are retried then.
 */
export const vendorDidNotAct = (status: number | undefined, retryAfter: string | string[] | undefined) =>
  status === 429 || (status === 503 && retryAfter !== undefined)

/** Sends one vendor request with got: timeout, bounded retries honouring Retry-After, 2xx/okStatus or a clear error. */
export async function sendRequest(req: HttpRequest, opts: SendOptions): Promise<HttpResponse> {
  const searchParams = new URLSearchParams(req.query)
  const where = () => {
    const u = new URL(req.url)
    return `${req.method} ${opts.redactor.text(u.pathname)}`
  }
  try {
    const res = await got(req.url, {
      method: req.method,
      headers: { ...req.headers, ...(req.body ? { 'content-type': req.body.contentType } : {}) },
      searchParams: [...searchParams].length ? searchParams : undefined,
      body: req.body?.bytes ?? req.body?.text,
      timeout: { request: req.timeoutMs },
      followRedirect: false,
      throwHttpErrors: true,
      responseType: 'text',
      retry: {
        limit: req.retry.limit,
        methods: [req.method],
        statusCodes: req.retry.statusCodes,
        maxRetryAfter: req.retry.maxRetryAfterSeconds * 1000,
        calculateDelay: ({ attemptCount, retryOptions, error, computedValue }) => {
          if (computedValue === 0 || attemptCount > retryOptions.limit) return 0
          const waitHeader =
            error.response?.headers['retry-after'] ?? (req.retry.retryAfterHeader ? error.response?.headers[req.retry.retryAfterHeader] : undefined)
          if (!req.idempotent && !vendorDidNotAct(error.response?.statusCode, waitHeader)) return 0
          // got already turned Retry-After into computedValue (0 when it exceeds the cap); "Retry-After: 0"
          // (now) gets our short backoff instead of got's one-second default.
          const retryAfter = error.response?.headers['retry-after']
          if (retryAfter !== undefined && String(retryAfter).trim() !== '0') return computedValue
          const other = req.retry.retryAfterHeader ? Number(error.response?.headers[req.retry.retryAfterHeader]) : NaN
          if (Number.isFinite(other) && other >= 0) return other > req.retry.maxRetryAfterSeconds ? 0 : other * 1000
          return 200 * 2 ** (attemptCount - 1) + Math.floor(Math.random() * 100)
        },
      },
    })
    return toResponse(res)
  } catch (e) {
    if (e instanceof HTTPError) {
      const response = toResponse(e.response as never)
      if (req.okStatus.includes(response.status)) return response
      const vendor = (await opts.vendorMessage?.(response.body).catch(() => undefined)) ?? defaultVendorMessage(response)
      throw new VendorRequestError(
        'UH-E035',
        opts.redactor.text(`${opts.label}: ${where()} answered ${response.status}${vendor ? `: ${vendor}` : ''}`),
        response.status,
        response.body,
      )
    }
    if (e instanceof RequestError) {
      throw new VendorRequestError('UH-E036', opts.redactor.text(`${opts.label}: ${where()} failed: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ')))
    }
    throw e
  }
}

function defaultVendorMessage(r: HttpResponse): string | undefined {
  const b = r.body as Record<string, unknown> | string | undefined
  if (typeof b === 'string') return b.slice(0, 300)
  if (b && typeof b === 'object') {
    for (const k of ['message', 'error', 'description', 'details', 'errors']) {
      const v = b[k]
      if (typeof v === 'string') return v.slice(0, 300)
      if (v && typeof v === 'object') return JSON.stringify(v).slice(0, 300)
    }
    return JSON.stringify(b).slice(0, 300)
  }
  return undefined
}
