/**
 * DNS-rebinding protection for the MCP endpoints: a browser page on a foreign site must not
 * reach a gateway listening on loopback. The Host header must name this gateway and any Origin
 * header must be one we allow; otherwise the request is refused with 403.
 */
export interface OriginPolicy {
  /** Host names (without port) accepted in Host; loopback names are always accepted. */
  allowedHosts: readonly string[];
  /** Origins (scheme://host[:port]) accepted in Origin; loopback origins of any port are always accepted. */
  allowedOrigins: readonly string[];
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function hostName(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  return hostHeader.split(":")[0] ?? "";
}

/** Builds the check once; it returns a reason to refuse, or undefined to allow. */
export function createOriginGuard(policy: OriginPolicy): (request: Request) => string | undefined {
  const hosts = new Set([...LOOPBACK, ...policy.allowedHosts.map((h) => h.toLowerCase())]);
  const origins = new Set(policy.allowedOrigins.map((o) => o.toLowerCase()));
  const anyHost = hosts.has("*");
  return (request) => {
    const host = request.headers.get("host");
    if (host && !anyHost && !hosts.has(hostName(host.toLowerCase()))) {
      return `Host "${host}" is not allowed (add it to MCPGW_ALLOWED_HOSTS if this gateway is reached by that name)`;
    }
    const origin = request.headers.get("origin");
    // "null" is the origin of sandboxed iframes, file: pages and cross-origin redirects: a page
    // anywhere can send it, so it is refused unless explicitly allowed (MCPGW_ALLOWED_ORIGINS=null).
    if (origin === "null") {
      return origins.has("null") ? undefined : 'Origin "null" (a sandboxed or file: page) is not allowed (add null to MCPGW_ALLOWED_ORIGINS to allow it)';
    }
    if (origin) {
      let parsed: URL;
      try {
        parsed = new URL(origin);
      } catch {
        return `Origin "${origin}" is malformed`;
      }
      if (!LOOPBACK.has(parsed.hostname) && !origins.has(parsed.origin.toLowerCase())) {
        return `Origin "${origin}" is not allowed (add it to MCPGW_ALLOWED_ORIGINS to let browser pages from it connect)`;
      }
    }
    return undefined;
  };
}
