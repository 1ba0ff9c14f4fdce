// Offline schema validation of rendered objects: core kinds through
// kubernetes-models, Prometheus operator and cert-manager kinds through their
// @kubernetes-models packages, Gateway API and Envoy Gateway kinds through ajv
// with the openAPIV3Schema of the CRDs mirrored in infra/schemas/.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import YAML from "yaml";
import type { K8sObject } from "../../render/mock-runtime";

const SCHEMA_DIR = path.resolve(__dirname, "..", "..", "schemas");

/**
 * Compiles every CRD version's schema under `schemaDir`. A file that does not
 * parse is an error, not a silently missing schema: re-indenting a block
 * scalar (`description: |2-`) once broke four of the vendored files unseen.
 */
export function loadCrdValidators(schemaDir = SCHEMA_DIR): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validators = new Map<string, ValidateFunction>();
  for (const dir of readdirSync(schemaDir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const file of readdirSync(path.join(schemaDir, dir.name)).filter((f) => f.endsWith(".crd"))) {
      const where = path.join(dir.name, file);
      for (const doc of YAML.parseAllDocuments(readFileSync(path.join(schemaDir, where), "utf8"))) {
        const [error] = doc.errors;
        if (error) throw new Error(`${where} does not parse: ${error.message}`);
        const crd = doc.toJS() as {
          kind?: string;
          spec?: {
            group: string;
            names: { kind: string };
            versions: { name: string; schema?: { openAPIV3Schema: object } }[];
          };
        } | null;
        if (crd?.kind !== "CustomResourceDefinition" || !crd.spec) continue;
        for (const v of crd.spec.versions) {
          if (v.schema)
            validators.set(
              `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`,
              ajv.compile(v.schema.openAPIV3Schema),
            );
        }
      }
    }
  }
  return validators;
}

let crdValidators: Map<string, ValidateFunction> | undefined;

const MODEL_PACKAGES: Record<string, string> = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "cert-manager.io": "@kubernetes-models/cert-manager",
};

export type Validation =
  | { ok: true; by: string }
  | { ok: false; by: string; error: string }
  | { ok: false; by: "none"; error: string };

export async function validateObject(obj: K8sObject): Promise<Validation> {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  crdValidators ??= loadCrdValidators();
  const crd = crdValidators.get(`${group}/${version}/${obj.kind}`);
  if (crd) {
    return crd(obj)
      ? { ok: true, by: "crd-schema" }
      : { ok: false, by: "crd-schema", error: JSON.stringify(crd.errors) };
  }
  const pkg =
    group && MODEL_PACKAGES[group]
      ? `${MODEL_PACKAGES[group]}/${group}/${version}`
      : group
        ? `kubernetes-models/${group}/${version}`
        : `kubernetes-models/${version}`;
  let Model: (new (o: unknown) => { validate(): void }) | undefined;
  try {
    // The @kubernetes-models packages export ESM only.
    Model = (await import(pkg))[obj.kind];
  } catch {
    Model = undefined;
  }
  if (!Model) return { ok: false, by: "none", error: `no schema for ${obj.apiVersion} ${obj.kind}` };
  try {
    new Model(obj).validate();
    return { ok: true, by: pkg };
  } catch (err) {
    return { ok: false, by: pkg, error: err instanceof Error ? err.message : String(err) };
  }
}
