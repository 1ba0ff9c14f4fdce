// Self-signed PKI for the local cluster, made with the openssl CLI: a CA, the
// API server's serving certificate for 127.0.0.1, an admin client certificate
// (group system:masters) and the service-account signing key pair.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";

export interface ClusterPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });

/**
 * A certificate signed by the cluster CA, for a client (`clientAuth`) or a
 * server (`serverAuth` with `sans`), at `dir/<name>.crt` and `.key`.
 */
export function issueCert(
  dir: string,
  pki: Pick<ClusterPki, "caCert" | "caKey">,
  name: string,
  subject: string,
  usage: { clientAuth: true } | { sans: string[] },
): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const ext =
    "sans" in usage
      ? `subjectAltName=${usage.sans.join(",")}\nextendedKeyUsage=serverAuth\n`
      : "extendedKeyUsage=clientAuth\n";
  signCert(pki, key, cert, subject, ext);
  return { cert, key };
}

function signCert(
  pki: Pick<ClusterPki, "caCert" | "caKey">,
  key: string,
  cert: string,
  subj: string,
  ext: string,
) {
  const csr = `${cert}.csr`;
  const extFile = `${cert}.ext`;
  writeFileSync(extFile, ext);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subj]);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    pki.caCert,
    "-CAkey",
    pki.caKey,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    DAYS,
    "-extfile",
    extFile,
  ]);
}

const DAYS = "30";

/** `apiServerIps`: the addresses clients dial besides 127.0.0.1 (a real node's side of its link). */
export function makePki(dir: string, serviceIp: string, apiServerIps: string[] = []): ClusterPki {
  const p = (f: string) => path.join(dir, f);
  const pki: ClusterPki = {
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    serverCert: p("apiserver.crt"),
    serverKey: p("apiserver.key"),
    adminCert: p("admin.crt"),
    adminKey: p("admin.key"),
    saKey: p("sa.key"),
    saPub: p("sa.pub"),
  };
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    pki.caKey,
    "-out",
    pki.caCert,
    "-days",
    DAYS,
    "-subj",
    "/CN=golive-local-ca",
  ]);
  const signed = (key: string, cert: string, subj: string, ext: string) =>
    signCert(pki, key, cert, subj, ext);
  signed(
    pki.serverKey,
    pki.serverCert,
    "/CN=kube-apiserver",
    `subjectAltName=IP:127.0.0.1,IP:${serviceIp},${apiServerIps.map((ip) => `IP:${ip},`).join("")}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n`,
  );
  signed(pki.adminKey, pki.adminCert, "/O=system:masters/CN=golive-admin", "extendedKeyUsage=clientAuth\n");
  openssl(["genrsa", "-out", pki.saKey, "2048"]);
  openssl(["rsa", "-in", pki.saKey, "-pubout", "-out", pki.saPub]);
  return pki;
}
