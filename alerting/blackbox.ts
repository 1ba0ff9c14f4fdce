// The blackbox exporter's probe modules: what "the product is up, seen from
// outside" means. One place for the cluster's ConfigMap
// (infra/components/synthetic.ts) and the test that runs the real exporter
// against the local stack (test/synthetic/probes.e2e.test.ts).

/** A user id no one has: the page is the global feed, the socket upgrades then closes 4404. */
export const PROBE_USER = "00000000-0000-4000-8000-000000000000";

/** The paths probed on the public host, by module. */
export const PROBES = {
  public_feed: `/v1/feed?userId=${PROBE_USER}&limit=1`,
  public_websocket: `/v1/messages?userId=${PROBE_USER}`,
} as const;

export type ProbeModule = keyof typeof PROBES;

/**
 * The exporter's configuration. `tls` requires HTTPS with a certificate the
 * exporter trusts (`caFile`, else the system's roots; `skipVerify` for a
 * self-signed one, whose expiry is still reported); without it the modules
 * also accept plain HTTP (the services on loopback).
 */
export function blackboxConfig(opts: {
  tls: boolean;
  caFile?: string;
  skipVerify?: boolean;
}): Record<string, unknown> {
  const tlsConfig = {
    ...(opts.caFile ? { ca_file: opts.caFile } : {}),
    ...(opts.skipVerify ? { insecure_skip_verify: true } : {}),
  };
  const common = {
    fail_if_not_ssl: opts.tls,
    preferred_ip_protocol: "ip4",
    ...(Object.keys(tlsConfig).length > 0 ? { tls_config: tlsConfig } : {}),
  };
  return {
    modules: {
      public_feed: {
        prober: "http",
        timeout: "5s",
        http: {
          ...common,
          method: "GET",
          valid_status_codes: [200],
          headers: { Accept: "application/json" },
          // A page, not an error body or a proxy's placeholder.
          fail_if_body_not_matches_regexp: ['"videos"'],
        },
      },
      public_websocket: {
        prober: "http",
        timeout: "5s",
        http: {
          ...common,
          method: "GET",
          // The upgrade itself; the socket is dropped once it is accepted.
          valid_status_codes: [101],
          headers: {
            Connection: "Upgrade",
            Upgrade: "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
          },
        },
      },
    },
  };
}
