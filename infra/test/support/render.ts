// Renders a committed stack once per test process and offers lookups.
import { parseStackConfig } from "../../config";
import { type K8sObject, type Registered, runWithMocks, toObjects } from "../../render/mock-runtime";
import { goLiveStack, type StackOutputs } from "../../stack";
import { rawConfig, readStackFile, type StackSettings, withSettings } from "../../stack-files";

export interface Rendered {
  objects: K8sObject[];
  resources: Registered[];
  outputs: StackOutputs;
  find(kind: string, name: string, namespace?: string): K8sObject;
  all(kind: string): K8sObject[];
}

const cache = new Map<string, Promise<Rendered>>();

/**
 * The stack as committed, or with `settings` merged over its object keys
 * (key without golive: -> fields), as the Automation API lanes set them.
 */
export function renderStack(stack: string, settings: StackSettings = {}): Promise<Rendered> {
  const cacheKey = `${stack} ${JSON.stringify(settings)}`;
  let pending = cache.get(cacheKey);
  if (!pending) {
    pending = (async () => {
      const config = withSettings(readStackFile(stack).config, settings);
      const cfg = parseStackConfig(rawConfig(config));
      const { value, resources } = await runWithMocks(stack, config, () => goLiveStack(cfg));
      const objects = toObjects(resources);
      return {
        objects,
        resources,
        outputs: value,
        all: (kind: string) => objects.filter((o) => o.kind === kind),
        find(kind: string, name: string, namespace?: string) {
          const hit = objects.find(
            (o) =>
              o.kind === kind &&
              o.metadata.name === name &&
              (namespace === undefined || o.metadata.namespace === namespace),
          );
          if (!hit) throw new Error(`no ${kind} ${namespace ?? "*"}/${name} rendered for ${stack}`);
          return hit;
        },
      };
    })();
    cache.set(cacheKey, pending);
  }
  return pending;
}
