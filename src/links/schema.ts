/** The zod models of the links API: request bodies, answers, and the OpenAPI names they carry. */
import { z } from "@hono/zod-openapi";
import { ErrorBodySchema } from "../http/openapi";
import { MAX_EMBEDDED_VALUE_LENGTH } from "../qualtrics/chunking";
import { SuppressedAnswerSchema } from "../rules";
import { LINK_STATUSES } from "../store/link-status";
import { toQualtricsLanguage } from "./language";

// Control characters (CR, LF, NUL…) have no place in ids; checked without a regex literal.
const hasNoControlCharacters = (value: string) =>
  ![...value].some((ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code < 0x20 || code === 0x7f;
  });

// A lone UTF-16 surrogate cannot be URL-encoded (encodeURIComponent throws), so it is bad input.
const isWellFormedUnicode = (value: string) => !/\p{Cs}/u.test(value);
const WELL_FORMED = "must be well-formed Unicode (no lone surrogates)";

// Ids are stored exactly as given (request hashes of retries in flight must not change), but one
// made of spaces only is refused: Qualtrics would refuse it on every reconcile run.
const identifier = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => value.trim() !== "", "must not be blank")
    .refine(hasNoControlCharacters, "must not contain control characters")
    .refine(isWellFormedUnicode, WELL_FORMED);

/** A customer id as the issue call takes it (and the privacy API looks it up). */
export const CustomerIdSchema = identifier(128).openapi({ example: "customer-42" });

export const CHANNELS = ["in_app", "push", "sms", "email", "web"] as const;

/**
 * Characters are code points, as Qualtrics counts them: an emoji is one, not two. Each value is
 * checked alone, also in eed mode where all of them travel inside one `Q_EED` parameter.
 */
const fitsQualtrics = (value: string) =>
  value.length <= MAX_EMBEDDED_VALUE_LENGTH || [...value].length <= MAX_EMBEDDED_VALUE_LENGTH;

const embeddedValueSchema = z.union([
  z
    .string()
    .refine(fitsQualtrics, `must be at most ${MAX_EMBEDDED_VALUE_LENGTH} characters`)
    .refine(isWellFormedUnicode, WELL_FORMED),
  z.number().refine(Number.isFinite, "must be a finite number"),
  z.boolean(),
]);

/**
 * JSON.parse keeps a `__proto__` key as an own property, but zod's records drop it silently (it
 * would replace the prototype of the object they build). Refused here like any undeclared field,
 * so a request never loses data without being told; no survey field can take the name.
 */
function refuseProtoKey(value: unknown, ctx: z.RefinementCtx) {
  if (typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")) {
    ctx.addIssue({
      code: "custom",
      path: ["__proto__"],
      message: "not a field of any survey (no field can be named __proto__)",
      input: value,
    });
  }
  return value;
}

export const LinkRequestSchema = z
  .object({
    survey: identifier(64).openapi({ example: "demo" }),
    customerId: CustomerIdSchema,
    transactionId: identifier(128).openapi({ example: "scan-2026-11-28-0001" }),
    trigger: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 _ . : -")
      .openapi({ example: "ticket_scanned" }),
    embeddedData: z
      .preprocess(refuseProtoKey, z.record(z.string().max(64), embeddedValueSchema))
      .optional()
      .openapi({ example: { venue: "Arena North", event: "Finals", seat: "B12" } }),
    channel: z.enum(CHANNELS).optional(),
    language: z
      .string()
      .refine(
        (value) => toQualtricsLanguage(value) !== null,
        "must be a Qualtrics language code (EN, FR, DE, ES, ES-ES, PT-BR, ZH-S, …) or an app " +
          "locale such as fr, fr-CA, pt-BR, es-419 or zh-Hans",
      )
      .optional()
      .openapi({
        example: "fr-CA",
        description:
          "The customer's language: a Qualtrics language code or the app's locale (mapped to " +
          "Qualtrics' code, e.g. fr-CA → FR-CA, es-419 → ES, zh-Hans → ZH-S). The survey opens " +
          "in it (`Q_Language`) and the link's own pages use it when they have it.",
      }),
    ttlSeconds: z
      .number()
      .int()
      .min(60, "must be at least 60 (KV's minimum lifetime)")
      .optional()
      .openapi({
        description: "Defaults to the survey's defaultTtlSeconds; at most its maxTtlSeconds.",
      }),
  })
  .strict()
  .openapi("LinkRequest");

export type LinkRequest = z.infer<typeof LinkRequestSchema>;

const LinkStatusEnum = z.enum(LINK_STATUSES).openapi({
  description:
    "Send a link only while it is `issued`. `opened`: claimed (its browser may re-open it " +
    "until it expires); `expired`, `revoked`, `erased` (a privacy erasure); `survey_removed` " +
    "(added in 0.2.0): the link is live but its survey is no longer configured, so a tap " +
    'answers "not found" (a survey configured again brings its links back).',
});

export const LinkSchema = z
  .object({
    id: z.string().openapi({ example: "AB3q2-7wEAbcDEfGhIjKlMnO" }),
    url: z.string().openapi({ example: "http://localhost:8787/s/AB3q2-7wEAbcDEfGhIjKlMnO" }),
    expiresAt: z.string().openapi({ example: "2026-12-05T10:00:00.000Z" }),
    survey: z.string(),
    status: LinkStatusEnum,
  })
  .openapi("Link");

export const BatchRequestSchema = z
  .object({
    // Items are validated one by one (a bad item is a 400 in its result, not for the batch), so
    // the runtime type is unknown; the document says what each item must be.
    links: z
      .array(z.unknown().openapi({ allOf: [{ $ref: "#/components/schemas/LinkRequest" }] }))
      .min(1)
      .max(500, "at most 500 links per batch"),
  })
  .strict()
  .openapi("BatchRequest");

const BatchResultSchema = z
  .object({
    index: z.number().int().openapi({ description: "The item's position in the request." }),
    status: z.union([z.literal(201), z.literal(200), z.literal(400), z.literal(409)]).openapi({
      description:
        "What a single call would have answered: 201 issued, 200 the same request again (or " +
        "suppressed), 400 invalid item (see `error.details`), 409 a different request for the " +
        "same survey and transactionId.",
    }),
    link: LinkSchema.optional().openapi({ description: "With 201 and 200, when a link exists." }),
    suppressed: SuppressedAnswerSchema.optional().openapi({
      description: "With 200 when no link was issued (added in 0.2.0): send nothing.",
    }),
    error: ErrorBodySchema.optional().openapi({ description: "With 400 and 409." }),
  })
  .openapi("BatchResult");

export const BatchResponseSchema = z
  .object({ results: z.array(BatchResultSchema) })
  .openapi("BatchResponse");

export const LinkStatusSchema = z
  .object({
    id: z.string(),
    survey: z.string(),
    transactionId: z.string().openapi({
      description:
        "A placeholder (`erased:<id>`) once the personal data is gone (retention or erasure)",
    }),
    trigger: z.string(),
    channel: z.string().nullable(),
    language: z
      .string()
      .nullable()
      .openapi({ description: "The Qualtrics language code the link carries", example: "FR-CA" }),
    status: LinkStatusEnum,
    issuedAt: z.string(),
    expiresAt: z.string(),
    openedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    erasedAt: z.string().nullable().openapi({
      description:
        "When a privacy erasure deleted its personal data (transactionId is then a placeholder)",
    }),
    reopens: z.number().int(),
    blocked: z.number().int(),
    previews: z.number().int(),
  })
  .openapi("LinkStatus");

export const IdParamSchema = z.object({
  id: z
    .string()
    .openapi({ param: { name: "id", in: "path" }, example: "AB3q2-7wEAbcDEfGhIjKlMnO" }),
});
