// The public host's certificate: trusted (the system CAs, or a given CA for a
// self-signed stack), valid for the host name, and valid for at least
// `minDays` more days, the CertificateExpiringSoon alert's threshold.
import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { CheckResult } from "../result";
import { timed, withDeadline } from "../result";

export interface TlsCheckInput {
  host: string;
  port: number;
  /** Connect here instead of the host's address (the edge Service in the cluster); SNI stays `host`. */
  address?: string;
  /** PEM file of the CA to trust instead of the system's (a self-signed stack). */
  caFile?: string;
  /**
   * A self-signed stack with no CA file at hand (the local one in the
   * cluster): the dates are still checked, the chain is not, and the line says so.
   */
  skipChainCheck?: boolean;
  minDays: number;
  timeoutMs: number;
}

const DAY_MS = 86_400_000;

export function checkTls(input: TlsCheckInput): Promise<CheckResult> {
  return timed("tls", async () => {
    const cert = await withDeadline(
      peerCertificate(input),
      input.timeoutMs,
      `TLS handshake with ${input.host}`,
    );
    const notAfter = new Date(cert.valid_to);
    const daysLeft = Math.floor((notAfter.getTime() - Date.now()) / DAY_MS);
    const until = `until ${notAfter.toISOString().slice(0, 10)}`;
    if (daysLeft < input.minDays)
      return {
        status: "failed",
        reason: `certificate expires in ${daysLeft} days (${until}), fewer than ${input.minDays}`,
      };
    const issuer = cert.issuer?.CN ?? cert.issuer?.O ?? "unknown issuer";
    const chain = input.skipChainCheck ? " (chain not verified: self-signed stack)" : "";
    return { status: "ok", reason: `valid ${daysLeft} more days (${until}), issued by ${issuer}${chain}` };
  });
}

function peerCertificate(input: TlsCheckInput): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: input.address ?? input.host,
      port: input.port,
      servername: input.host,
      ...(input.caFile ? { ca: readFileSync(input.caFile) } : {}),
      // Verification stays on unless asked: an untrusted chain or a wrong name fails here.
      rejectUnauthorized: !input.skipChainCheck,
    });
    socket.setTimeout(input.timeoutMs, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once("error", reject);
  });
}
