// What the gateway promises whoever deploys it (infra/stack.ts): its port and
// the environment it reads (names typed from its schema).
import type { EnvName } from "@golive/shared/contract";
import type { gatewayEnvSchema } from "./config";

export const GATEWAY_HTTP_PORT = 8080;
export type GatewayEnv = EnvName<typeof gatewayEnvSchema>;
