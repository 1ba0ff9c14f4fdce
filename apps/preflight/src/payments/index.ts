// Every processor the preflight knows, in report order (names.ts). A stack
// configures a subset under golive:preflightPayments; the others are
// reported skipped.
import { adyen } from "./adyen";
import { braintree } from "./braintree";
import { checkout } from "./checkout";
import { mollie } from "./mollie";
import { PROCESSOR_NAMES, type ProcessorName } from "./names";
import { paypal } from "./paypal";
import type { ProcessorModule } from "./processor";
import { square } from "./square";
import { stripe } from "./stripe";

// One adapter per name, checked by the compiler: a processor added to
// names.ts without its adapter (or the reverse) does not build.
const BY_NAME = { stripe, paypal, adyen, braintree, square, checkout, mollie } satisfies Record<
  ProcessorName,
  Pick<ProcessorModule<unknown>, "name" | "displayName">
>;

export const PROCESSORS = PROCESSOR_NAMES.map((name) => BY_NAME[name] as ProcessorModule<unknown>);
