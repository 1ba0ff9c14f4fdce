// Every processor the preflight knows, in report order. A stack configures a
// subset under golive:preflightPayments; the others are reported skipped.
import { adyen } from "./adyen";
import { braintree } from "./braintree";
import { checkout } from "./checkout";
import { mollie } from "./mollie";
import { paypal } from "./paypal";
import type { ProcessorModule } from "./processor";
import { square } from "./square";
import { stripe } from "./stripe";

export const PROCESSORS: readonly ProcessorModule<unknown>[] = [
  stripe,
  paypal,
  adyen,
  braintree,
  square,
  checkout,
  mollie,
] as ProcessorModule<unknown>[];
