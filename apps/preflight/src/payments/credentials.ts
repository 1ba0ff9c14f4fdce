// What each payment processor's preflight needs from the stack (the secret
// golive:preflightPayments, docs/preflight.md), apart from the SDKs: the
// stack config schema (infra/config.ts) checks every field before anything
// is registered, without loading seven SDKs into the Pulumi program.
import { z } from "zod";
import type { ProcessorName } from "./names";

// Stripe
/** Stripe's test PaymentMethod for a Visa that authorizes (docs.stripe.com/testing). */
export const STRIPE_SANDBOX_PAYMENT_METHOD = "pm_card_visa";

export const stripeCredentials = z.strictObject({
  // Secret or restricted key with PaymentIntents write: sk_test_/rk_test_ in sandbox, sk_live_/rk_live_ in prod.
  secretKey: z
    .string()
    .regex(/^(sk|rk)_(test|live)_\w+$/, "a Stripe secret or restricted key (sk_… or rk_…)"),
  // PaymentMethod to authorize: Stripe's test Visa by default; in prod the company card's saved pm_… .
  paymentMethod: z
    .string()
    .regex(/^pm_\w+$/, "a PaymentMethod id (pm_…)")
    .default(STRIPE_SANDBOX_PAYMENT_METHOD),
  // Customer a saved PaymentMethod is attached to (Stripe requires it with such a method); none for the test card.
  customer: z
    .string()
    .regex(/^cus_\w+$/, "a Customer id (cus_…)")
    .optional(),
});

export type StripeCredentials = z.infer<typeof stripeCredentials>;

// PayPal
/** PayPal's documented sandbox Visa (developer.paypal.com/tools/sandbox/card-testing): any future expiry and CVV. */
export const PAYPAL_SANDBOX_CARD = { number: "4012888888881881", expiry: "2035-12", securityCode: "123" };

export const paypalCredentials = z.strictObject({
  // Client id of the REST app (sandbox app unless the run is live).
  clientId: z.string().min(1),
  // Its secret: exchanged for an OAuth2 token, never sent anywhere else.
  clientSecret: z.string().min(1),
  // Vault id of the company's own saved card (Payment Method Tokens); required live.
  cardVaultId: z.string().min(1).optional(),
  // Sandbox only, used when no cardVaultId is set: a PayPal test card.
  testCard: z
    .strictObject({
      number: z.string().regex(/^\d{12,19}$/, "12 to 19 digits"),
      expiry: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM"),
      securityCode: z.string().regex(/^\d{3,4}$/, "3 or 4 digits"),
    })
    .default(PAYPAL_SANDBOX_CARD),
});

export type PaypalCredentials = z.infer<typeof paypalCredentials>;

// Adyen
/**
 * Adyen's documented test Visa with the test_ prefix its test platform
 * accepts instead of client-side encrypted fields
 * (docs.adyen.com/development-resources/testing/test-card-numbers).
 */
export const ADYEN_TEST_CARD = {
  encryptedCardNumber: "test_4111111111111111",
  encryptedExpiryMonth: "test_03",
  encryptedExpiryYear: "test_2030",
  encryptedSecurityCode: "test_737",
};

export const adyenTestCard = z.strictObject({
  encryptedCardNumber: z.string().startsWith("test_"),
  encryptedExpiryMonth: z.string().startsWith("test_"),
  encryptedExpiryYear: z.string().startsWith("test_"),
  encryptedSecurityCode: z.string().startsWith("test_"),
});

export const adyenStoredCard = z.strictObject({
  // The company card's token at Adyen (recurringDetailReference / storedPaymentMethodId).
  storedPaymentMethodId: z.string().min(1),
  // The shopper the token was stored for.
  shopperReference: z.string().min(1),
});

export const adyenCredentials = z.strictObject({
  // API key of the web service user with the Checkout webservice role (sent as X-API-Key).
  apiKey: z.string().min(1),
  // Merchant account the payment and its cancel are booked on.
  merchantAccount: z.string().min(1),
  // Live only: the [random]-[company name] prefix of the company's live endpoints (Customer Area > Developers > API URLs).
  liveEndpointUrlPrefix: z
    .string()
    .regex(/^[a-z0-9]+-[A-Za-z0-9]+$/, "the live URL prefix, e.g. 1797a841fbb37ca7-AdyenDemo")
    .optional(),
  // Card to authorize: Adyen's test card by default (test platform only); live, the company card's stored token.
  card: z
    .union([adyenTestCard, adyenStoredCard], {
      error: "either Adyen's test_ card fields (sandbox) or storedPaymentMethodId with shopperReference",
    })
    .default(ADYEN_TEST_CARD),
});

export type AdyenCredentials = z.infer<typeof adyenCredentials>;

// Braintree
/** Braintree's sandbox nonce for a valid Visa (developer.paypal.com/braintree/docs/reference/general/testing). */
export const BRAINTREE_SANDBOX_NONCE = "fake-valid-nonce";

export const braintreeCredentials = z.strictObject({
  // Gateway merchant id (Control Panel > API keys), part of every API path.
  merchantId: z.string().min(1),
  // API public key: the user name of the HTTP Basic login.
  publicKey: z.string().min(1),
  // API private key: its password.
  privateKey: z.string().min(1),
  // Merchant account to charge, which fixes the currency; absent: the gateway's default account.
  merchantAccountId: z.string().min(1).optional(),
  // Live: vault token of the company's own card; required there.
  paymentMethodToken: z.string().min(1).optional(),
  // Sandbox, when no token is set: one of Braintree's test nonces.
  paymentMethodNonce: z.string().min(1).default(BRAINTREE_SANDBOX_NONCE),
  // True only once Braintree has enabled At-Most-Once processing (apiRequestKey) for the merchant.
  apiRequestKeys: z.boolean().default(false),
});

export type BraintreeCredentials = z.infer<typeof braintreeCredentials>;

// Square
/** Square's sandbox test nonce for a card that authorizes (developer.squareup.com/docs/devtools/sandbox/payments). */
export const SQUARE_SANDBOX_SOURCE = "cnon:card-nonce-ok";

export const squareCredentials = z
  .strictObject({
    // Access token (sandbox or production) of the seller, with PAYMENTS_WRITE.
    accessToken: z.string().min(1),
    // Location the payment is booked at; Square takes the seller's main location when absent.
    locationId: z.string().min(1).optional(),
    // Card to authorize: Square's sandbox test nonce by default; in prod the company card on file (ccof:…).
    sourceId: z.string().min(1).default(SQUARE_SANDBOX_SOURCE),
    // Customer the card on file belongs to (Square requires it with a ccof: source).
    customerId: z.string().min(1).optional(),
  })
  .refine((c) => !c.sourceId.startsWith("ccof:") || c.customerId, {
    path: ["customerId"],
    message: "required with a card on file (ccof:…) sourceId",
  });

export type SquareCredentials = z.infer<typeof squareCredentials>;

// Checkout.com
/** Checkout.com's test Visa that approves (checkout.com/docs/developer-resources/testing/test-cards). */
export const CHECKOUT_TEST_CARD_NUMBER = "4242424242424242";

export const checkoutCard = z.strictObject({
  type: z.literal("card"),
  // Card number, digits only.
  number: z.string().regex(/^\d{12,19}$/, "12 to 19 digits"),
  // Expiry month, 1-12.
  expiryMonth: z.number().int().min(1).max(12),
  // Expiry year, four digits.
  expiryYear: z.number().int().min(2000).max(2099),
  // Card verification value.
  cvv: z.string().regex(/^\d{3,4}$/, "3 or 4 digits"),
});

export const checkoutStoredSource = z.strictObject({
  type: z.literal("id"),
  // The company card stored with Checkout.com (src_…), charged without its number in this stack.
  id: z.string().regex(/^src_\w+$/, "a stored payment source id (src_…)"),
});

/** Test cards take any future expiry; the year is set a few years ahead when the schema is used. */
export const checkoutTestCard = (): z.infer<typeof checkoutCard> => ({
  type: "card",
  number: CHECKOUT_TEST_CARD_NUMBER,
  expiryMonth: 12,
  expiryYear: new Date().getFullYear() + 3,
  cvv: "100",
});

export const checkoutCredentials = z.strictObject({
  // Static secret key of the current platform: sk_sbox_… in sandbox, sk_… in prod (sent as a Bearer token).
  secretKey: z
    .string()
    .regex(/^sk_(sbox_)?[a-z2-7]{26}[a-z2-7*#$=]$/, "a Checkout.com secret key (sk_sbox_… or sk_…)"),
  // Merchant-specific API subdomain: the first 8 characters of the client ID, without cli_.
  subdomain: z.string().regex(/^(pl-)?[a-z0-9]+$/, "lower-case letters and digits"),
  // Processing channel the payment goes through (pc_…), from the Dashboard.
  processingChannelId: z.string().regex(/^pc_\w+$/, "a processing channel id (pc_…)"),
  // What is authorized: Checkout.com's test Visa by default; in prod the company card's stored source.
  paymentSource: z.discriminatedUnion("type", [checkoutCard, checkoutStoredSource]).default(checkoutTestCard),
});

export type CheckoutCredentials = z.infer<typeof checkoutCredentials>;

// Mollie
export const mollieCredentials = z.strictObject({
  // Organisation API key of the website profile: test_… in sandbox, live_… in prod (Mollie tells the mode by it).
  apiKey: z.string().regex(/^(test|live)_\w+$/, "a Mollie API key (test_… or live_…)"),
});

export type MollieCredentials = z.infer<typeof mollieCredentials>;

const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "an ISO 4217 code in capitals, such as USD")
  .optional();

/** One processor's entry: its credentials and, optionally, the currency to charge in. */
const settings = <T extends z.ZodObject>(credentials: T) => credentials.safeExtend({ currency }).optional();

/**
 * golive:preflightPayments: processor name -> its settings. Strict, so a
 * misspelt processor or field fails the preview by name; an absent
 * processor is reported skipped.
 */
export const preflightPaymentsSchema = z.strictObject({
  stripe: settings(stripeCredentials),
  paypal: settings(paypalCredentials),
  adyen: settings(adyenCredentials),
  braintree: settings(braintreeCredentials),
  square: settings(squareCredentials),
  checkout: settings(checkoutCredentials),
  mollie: settings(mollieCredentials),
} satisfies Record<ProcessorName, z.ZodType>);
