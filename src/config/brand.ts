/**
 * `BRAND`: the name, logo, colour and help contact that every page a customer sees carries
 * (src/tap/pages.ts). Checked like every setting, each problem named by path (`BRAND.color`), but
 * a bad BRAND never takes the pages down: the brand is left out (the pages fall back to
 * unbranded) and its problems go to the log and `/healthz` instead of failing the configuration.
 *
 * The logo is loaded by the customer's browser, which tells its address to whoever serves it:
 * so only this service's own origin (PUBLIC_BASE_URL), hosts the operator lists in
 * ALLOWED_LOGO_HOSTS, or a small inline SVG, which loads nothing. Every value is checked for
 * what it is written into: the colour into CSS, the logo into the content security policy.
 */
import { z } from "zod";
import type { Env } from "./env";
import { PAGE_LANGUAGES, type PageLanguage } from "./page-languages";
import { type Problems, parseHostList } from "./parsing";

interface BrandLogo {
  /** What the page's `<img src>` gets: the https URL, or the inline SVG as a data: URL. */
  src: string;
  /** The pages' `img-src`: exactly this logo (its URL without the query), or `data:`. */
  cspSource: string;
}

export interface Brand {
  name: string;
  logo: BrandLogo | null;
  /** `#rrggbb`, lower case. */
  color: string | null;
  /** An https, mailto: or tel: URL. */
  helpUrl: string | null;
  /** The help text in every page language (one string given: the same in each). */
  helpText: Record<PageLanguage, string> | null;
}

/** The brand the pages show (null: none set, or a bad one) and what is wrong with it. */
export interface BrandSetup {
  brand: Brand | null;
  problems: readonly string[];
}

/** Inline SVG is written into every page: keep it small. */
const MAX_SVG_BYTES = 8192;

const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), "must not contain control characters");

const helpLine = line(200);

const HELP_TEXT_MESSAGE = `must be a string, or an object of strings by language (en required; ${PAGE_LANGUAGES.filter((l) => l !== "en").join(", ")} optional)`;

const helpTextSchema = z.union(
  [
    helpLine,
    z.strictObject({
      en: helpLine,
      fr: helpLine.optional(),
      de: helpLine.optional(),
      es: helpLine.optional(),
    } satisfies Record<PageLanguage, z.ZodType>),
  ],
  { error: HELP_TEXT_MESSAGE },
);

/** `#15b` → `#1155bb`; `#1F5FBF` → `#1f5fbf`. */
const fullHex = (color: string): string =>
  (color.length === 4 ? `#${[...color.slice(1)].map((d) => d + d).join("")}` : color).toLowerCase();

/** A checked value, or why not: each reason becomes a problem of its field. */
type Checked<T> = { value: T } | { problems: string[] };

function inlineSvg(svg: string): Checked<BrandLogo> {
  const bytes = new TextEncoder().encode(svg);
  if (bytes.length > MAX_SVG_BYTES) {
    return { problems: [`inline SVG may be at most ${MAX_SVG_BYTES} bytes (${bytes.length})`] };
  }
  if (!/^(?:<\?xml[^>]*\?>\s*)?<svg[\s>]/i.test(svg) || !/<\/svg>$/i.test(svg)) {
    return { problems: ["inline SVG must start with <svg and end with </svg>"] };
  }
  // Shown through <img>: an SVG image runs no script and loads nothing.
  const base64 = btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  return { value: { src: `data:image/svg+xml;base64,${base64}`, cspSource: "data:" } };
}

function logoOf(
  value: string,
  publicBaseUrl: string | undefined,
  allowedHosts: readonly string[],
): Checked<BrandLogo> {
  const trimmed = value.trim();
  if (trimmed.startsWith("<")) return inlineSvg(trimmed);
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { problems: ["must be an https URL or inline SVG markup (<svg …>…</svg>)"] };
  }
  const problems: string[] = [];
  if (url.protocol !== "https:") problems.push("must use https");
  if (url.username || url.password) problems.push("must not carry credentials");
  const own = publicBaseUrl !== undefined && new URL(publicBaseUrl).host === url.host;
  if (!own && !allowedHosts.includes(url.host) && !allowedHosts.includes(url.hostname)) {
    problems.push(
      `host ${url.hostname} must be PUBLIC_BASE_URL's or listed in ALLOWED_LOGO_HOSTS (the customer's browser fetches it)`,
    );
  }
  // The path goes into the content security policy, where these characters end or split it.
  if (/[;,'"\\]/.test(url.pathname)) problems.push(`its path must not contain ; , ' " or \\`);
  if (problems.length > 0) return { problems };
  return { value: { src: url.href, cspSource: `${url.origin}${url.pathname}` } };
}

function helpUrlOf(value: string): Checked<string> {
  let url: URL | null = null;
  try {
    url = new URL(value.trim());
  } catch {}
  if (!url || !["https:", "mailto:", "tel:"].includes(url.protocol)) {
    return { problems: ["must be an https, mailto: or tel: URL"] };
  }
  if (url.username || url.password) return { problems: ["must not carry credentials"] };
  return { value: url.href };
}

/** A zod transform that turns a check's problems into issues of the field. */
const checked =
  <T>(check: (value: string) => Checked<T>) =>
  (value: string, ctx: z.RefinementCtx<string>): T => {
    const result = check(value);
    if ("value" in result) return result.value;
    for (const message of result.problems) ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };

/** One string for every language, or one per language (English for those missing). */
function helpTextByLanguage(value: z.infer<typeof helpTextSchema>): Record<PageLanguage, string> {
  const byLanguage: Partial<Record<PageLanguage, string>> = typeof value === "string" ? {} : value;
  const fallback = typeof value === "string" ? value : value.en;
  return Object.fromEntries(
    PAGE_LANGUAGES.map((language) => [language, byLanguage[language] ?? fallback]),
  ) as Record<PageLanguage, string>;
}

/** BRAND's schema; the logo's hosts depend on the service's origin and ALLOWED_LOGO_HOSTS. */
const brandSchema = (publicBaseUrl: string | undefined, allowedHosts: readonly string[]) =>
  z
    .strictObject({
      name: line(80),
      logoUrl: z
        .string()
        .max(MAX_SVG_BYTES * 2, "is far too long")
        .transform(checked((value) => logoOf(value, publicBaseUrl, allowedHosts)))
        .optional(),
      color: z
        .string()
        .regex(/^#(?:[0-9a-fA-F]{3}){1,2}$/, "must be a hex colour such as #1f5fbf or #15b")
        .transform(fullHex)
        .optional(),
      helpUrl: z
        .string()
        .max(2048, "must be at most 2048 characters")
        .transform(checked(helpUrlOf))
        .optional(),
      helpText: helpTextSchema.transform(helpTextByLanguage).optional(),
    })
    .transform(
      (brand): Brand => ({
        name: brand.name,
        logo: brand.logoUrl ?? null,
        color: brand.color ?? null,
        helpUrl: brand.helpUrl ?? null,
        helpText: brand.helpText ?? null,
      }),
    );

/**
 * BRAND and ALLOWED_LOGO_HOSTS, checked, every problem added to `problems` (named by path);
 * never throws. `publicBaseUrl` is the service's own origin (a logo there is always allowed).
 */
export function parseBrand(
  problems: Problems,
  env: Pick<Env, "BRAND" | "ALLOWED_LOGO_HOSTS">,
  publicBaseUrl: string | undefined,
): Brand | null {
  if (env.BRAND === undefined || env.BRAND === "") return null;
  const allowedHosts = parseHostList(problems, "ALLOWED_LOGO_HOSTS", env.ALLOWED_LOGO_HOSTS);
  return problems.parse("BRAND", brandSchema(publicBaseUrl, allowedHosts), env.BRAND) ?? null;
}
