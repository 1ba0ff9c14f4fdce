// The processors' config keys, apart from their SDKs: the stack config
// schema (infra/config.ts) checks names without loading seven SDKs.
export const PROCESSOR_NAMES = [
  "stripe",
  "paypal",
  "adyen",
  "braintree",
  "square",
  "checkout",
  "mollie",
] as const;
export type ProcessorName = (typeof PROCESSOR_NAMES)[number];
