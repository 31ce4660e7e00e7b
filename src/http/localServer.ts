import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Raised by readBody when a request body passes the given limit; `size` is what was read (all of it when drained). */
export class BodyTooLargeError extends Error {
  constructor(
    message: string,
    readonly size: number,
  ) {
    super(message)
  }
}

/** The whole request body as UTF-8 text (servers of the sandbox, the stub helpdesk and the emulator). */
export async function readBody(req: IncomingMessage, maxBytes = Infinity): Promise<string> {
  return (await readBodyBytes(req, maxBytes)).toString('utf8')
}

/**
 * The whole request body as bytes (file uploads). Past `maxBytes` the request is cut off, or with `drain` read
 * to its end and dropped (nothing more is kept), so the client gets the 413 instead of a reset mid-upload.
 */
export function readBodyBytes(req: IncomingMessage, maxBytes = Infinity, options: { drain?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const tooLarge = () => new BodyTooLargeError(`The body is larger than ${maxBytes} bytes`, size)
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) chunks.push(chunk)
      else if (!options.drain) {
        reject(tooLarge())
        req.destroy()
      }
    })
    req.on('end', () => (size > maxBytes ? reject(tooLarge()) : resolve(Buffer.concat(chunks))))
    req.on('error', reject)
  })
}

/** Listens on 127.0.0.1 only (0 = a free port) and resolves with the port. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
