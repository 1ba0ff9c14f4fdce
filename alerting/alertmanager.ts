// Alertmanager routing as stack config: receivers with their secret URLs/keys,
// which severities go to which receivers, and grouping. The rendered object is
// a plain Alertmanager configuration (alertmanager.yaml) that the monitoring
// component stores in a Secret. With no receivers configured everything goes
// to the "null" receiver, so a fresh stack never pages anyone.
import { z } from "zod";

export const SEVERITIES = ["critical", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Name of the receiver that drops alerts; always present, always the default. */
export const NULL_RECEIVER = "null";

const receiverName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, "use lowercase letters, digits and dashes")
  .refine((n) => n !== NULL_RECEIVER, `"${NULL_RECEIVER}" is reserved for the default receiver`);

// Alertmanager durations: 30s, 5m, 4h, 1h30m.
const duration = z
  .string()
  .regex(/^(\d+(ms|s|m|h|d|w|y))+$/, "an Alertmanager duration such as 30s, 5m or 4h");

const slackReceiver = z.strictObject({
  type: z.literal("slack"),
  name: receiverName,
  /** Incoming-webhook URL; a secret. */
  apiUrl: z.url(),
  channel: z.string().min(1).optional(),
  sendResolved: z.boolean().default(true),
});

const webhookReceiver = z.strictObject({
  type: z.literal("webhook"),
  name: receiverName,
  /** Endpoint that receives Alertmanager's JSON payload; may embed a token, so treat it as a secret. */
  url: z.url(),
  sendResolved: z.boolean().default(true),
});

const pagerdutyReceiver = z.strictObject({
  type: z.literal("pagerduty"),
  name: receiverName,
  /** PagerDuty Events API v2 integration (routing) key; a secret. */
  routingKey: z.string().min(1),
  url: z.url().optional(),
  sendResolved: z.boolean().default(true),
});

export const receiverSchema = z.discriminatedUnion("type", [
  slackReceiver,
  webhookReceiver,
  pagerdutyReceiver,
]);
export type Receiver = z.infer<typeof receiverSchema>;

// Strict throughout, like the rest of the stack config: a misspelt key (say
// `groupwait` or a receiver's `chanel`) fails the preview instead of being
// dropped while a default silently takes its place.
export const alertmanagerSettingsSchema = z
  .strictObject({
    receivers: z.array(receiverSchema).default([]),
    /** Receiver names per severity; an alert goes to every receiver listed for its severity. */
    routes: z
      .strictObject({
        critical: z.array(z.string()).default([]),
        warning: z.array(z.string()).default([]),
        info: z.array(z.string()).default([]),
      })
      .default({ critical: [], warning: [], info: [] }),
    groupBy: z.array(z.string().min(1)).min(1).default(["alertname", "namespace", "service"]),
    groupWait: duration.default("30s"),
    groupInterval: duration.default("5m"),
    repeatInterval: duration.default("4h"),
  })
  .superRefine((settings, ctx) => {
    const names = new Set<string>();
    settings.receivers.forEach((r, i) => {
      if (names.has(r.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["receivers", i, "name"],
          message: `duplicate receiver "${r.name}"`,
        });
      }
      names.add(r.name);
    });
    for (const severity of SEVERITIES) {
      settings.routes[severity].forEach((name, i) => {
        if (!names.has(name)) {
          ctx.addIssue({
            code: "custom",
            path: ["routes", severity, i],
            message: `unknown receiver "${name}" (configured: ${[...names].join(", ") || "none"})`,
          });
        }
      });
    }
  });

export type AlertmanagerSettingsInput = z.input<typeof alertmanagerSettingsSchema>;
export type AlertmanagerSettings = z.output<typeof alertmanagerSettingsSchema>;

// Labels that identify "the same problem" for grouping-independent inhibition:
// a critical alert mutes the warning (and info) alert of the same name on the
// same service, e.g. the fast SLO burn mutes the slow one.
const INHIBIT_EQUAL = ["alertname", "namespace", "service"];

const SLACK_TITLE =
  '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})';
const SLACK_TEXT =
  "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}";

function renderReceiver(r: Receiver): Record<string, unknown> {
  switch (r.type) {
    case "slack":
      return {
        name: r.name,
        slack_configs: [
          {
            api_url: r.apiUrl,
            ...(r.channel ? { channel: r.channel } : {}),
            send_resolved: r.sendResolved,
            title: SLACK_TITLE,
            text: SLACK_TEXT,
          },
        ],
      };
    case "webhook":
      return { name: r.name, webhook_configs: [{ url: r.url, send_resolved: r.sendResolved }] };
    case "pagerduty":
      return {
        name: r.name,
        pagerduty_configs: [
          {
            routing_key: r.routingKey,
            ...(r.url ? { url: r.url } : {}),
            send_resolved: r.sendResolved,
            description: "{{ .CommonAnnotations.summary }}",
            details: {
              runbook_url: "{{ .CommonAnnotations.runbook_url }}",
              firing: "{{ .Alerts.Firing | len }}",
            },
          },
        ],
      };
  }
}

/** Renders alertmanager.yaml as an object (serialise it with the yaml package). */
export function renderAlertmanagerConfig(input: AlertmanagerSettingsInput): Record<string, unknown> {
  const settings = alertmanagerSettingsSchema.parse(input);
  const routes: Record<string, unknown>[] = [
    // kube-prometheus-stack's always-firing heartbeat and InfoInhibitor must never notify.
    { receiver: NULL_RECEIVER, matchers: ['alertname=~"Watchdog|InfoInhibitor"'] },
  ];
  for (const severity of SEVERITIES) {
    const targets = settings.routes[severity];
    targets.forEach((receiver, i) => {
      // continue: true on all but the last so every listed receiver gets the alert.
      routes.push({ receiver, matchers: [`severity="${severity}"`], continue: i < targets.length - 1 });
    });
  }
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: NULL_RECEIVER,
      group_by: settings.groupBy,
      group_wait: settings.groupWait,
      group_interval: settings.groupInterval,
      repeat_interval: settings.repeatInterval,
      routes,
    },
    inhibit_rules: [
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity=~"warning|info"'],
        equal: [...INHIBIT_EQUAL],
      },
      {
        source_matchers: ['severity="warning"'],
        target_matchers: ['severity="info"'],
        equal: [...INHIBIT_EQUAL],
      },
    ],
    receivers: [{ name: NULL_RECEIVER }, ...settings.receivers.map(renderReceiver)],
  };
}
