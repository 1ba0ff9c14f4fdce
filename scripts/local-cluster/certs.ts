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

export function makePki(dir: string, serviceIp: string): ClusterPki {
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
  const days = "30";
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
    days,
    "-subj",
    "/CN=golive-local-ca",
  ]);
  const signed = (key: string, cert: string, subj: string, ext: string) => {
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
      days,
      "-extfile",
      extFile,
    ]);
  };
  signed(
    pki.serverKey,
    pki.serverCert,
    "/CN=kube-apiserver",
    `subjectAltName=IP:127.0.0.1,IP:${serviceIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n`,
  );
  signed(pki.adminKey, pki.adminCert, "/O=system:masters/CN=golive-admin", "extendedKeyUsage=clientAuth\n");
  openssl(["genrsa", "-out", pki.saKey, "2048"]);
  openssl(["rsa", "-in", pki.saKey, "-pubout", "-out", pki.saPub]);
  return pki;
}
