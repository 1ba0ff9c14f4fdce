// Pulumi policy pack: `pulumi preview --policy-pack policy` enforces the same
// rules the tests apply to the rendered manifests (policy/rules.ts).
import { PolicyPack } from "@pulumi/policy";
import { type KubeObject, OBJECT_RULES, STACK_RULE } from "./rules";

const isKube = (type: string) => type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh");

new PolicyPack("golive", {
  enforcementLevel: "mandatory",
  policies: [
    ...OBJECT_RULES.map((rule) => ({
      name: rule.name,
      description: rule.description,
      validateResource: (
        args: { type: string; props: Record<string, unknown> },
        report: (m: string) => void,
      ) => {
        if (!isKube(args.type)) return;
        for (const message of rule.check(args.props as unknown as KubeObject)) report(message);
      },
    })),
    {
      name: STACK_RULE.name,
      description: STACK_RULE.description,
      validateStack: (
        args: { resources: { type: string; props: Record<string, unknown> }[] },
        report: (m: string) => void,
      ) => {
        const objects = args.resources
          .filter((r) => isKube(r.type))
          .map((r) => r.props as unknown as KubeObject);
        for (const message of STACK_RULE.check(objects)) report(message);
      },
    },
  ],
});
