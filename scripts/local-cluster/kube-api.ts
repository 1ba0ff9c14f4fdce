// A minimal Kubernetes API client over HTTPS with a client certificate: just
// what the local cluster needs to seed itself (nodes, a storage class) and
// what the real-engine test needs to list everything in the cluster. No
// kubectl, so a fresh machine needs nothing beyond the built binaries.
import { request } from "node:https";

export interface KubeCredentials {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export class KubeApi {
  constructor(private readonly creds: KubeCredentials) {}

  /** Any request; `headers` for example to impersonate (`Impersonate-User`). */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    const url = new URL(path, this.creds.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.creds.ca,
          cert: this.creds.cert,
          key: this.creds.key,
          headers: {
            ...headers,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** GET that must succeed. */
  async get<T = unknown>(path: string): Promise<T> {
    const res = await this.request<T>("GET", path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Creates a cluster-scoped object (or a namespaced one when `namespace` is set); 409 is fine. */
  async create(collectionPath: string, obj: KubeObject): Promise<void> {
    const res = await this.request("POST", collectionPath, obj);
    if (res.status !== 201 && res.status !== 200 && res.status !== 409) {
      throw new Error(`create ${obj.kind} ${obj.metadata.name}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  /**
   * Every object of every listable kind, as "group/version Kind namespace/name".
   * The real-engine test compares this before `up` and after `destroy`.
   */
  async inventory(ignoreKinds: ReadonlySet<string> = new Set()): Promise<Set<string>> {
    const groupPaths = ["/api/v1"];
    const groups = await this.get<{ groups: { preferredVersion: { groupVersion: string } }[] }>("/apis");
    for (const g of groups.groups) groupPaths.push(`/apis/${g.preferredVersion.groupVersion}`);
    const out = new Set<string>();
    for (const gp of groupPaths) {
      const list = await this.get<{
        groupVersion: string;
        resources: { name: string; kind: string; verbs: string[] }[];
      }>(gp);
      for (const r of list.resources) {
        if (r.name.includes("/") || !r.verbs.includes("list") || ignoreKinds.has(r.kind)) continue;
        const items = await this.get<{ items: KubeObject[] }>(`${gp}/${r.name}`);
        for (const item of items.items) {
          const ns = item.metadata.namespace ? `${item.metadata.namespace}/` : "";
          out.add(`${list.groupVersion} ${r.kind} ${ns}${item.metadata.name}`);
        }
      }
    }
    return out;
  }
}
