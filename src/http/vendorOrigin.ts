/**
 * Local testing only: UNIVERSAL_HITL_VENDOR_ORIGIN=http://127.0.0.1:PORT sends every helpdesk request to that
 * origin (path and query kept), so a mapping whose base URL is fixed (https://{sub}.zendesk.com) can be run
 * against a stub. Integration processes in Botpress Cloud have no way to set it from a bot's configuration.
 * The integration and the CLI's `route` honour it.
 */
export function vendorOriginOverride(env: NodeJS.ProcessEnv = process.env): ((url: string) => string) | undefined {
  const origin = env.UNIVERSAL_HITL_VENDOR_ORIGIN
  if (!origin) return undefined
  return (url) => {
    const u = new URL(url)
    return `${origin.replace(/\/+$/, '')}${u.pathname}${u.search}`
  }
}
