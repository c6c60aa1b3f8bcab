/**
 * The customer's language, as Qualtrics names it. The issue API takes a Qualtrics language code
 * (`FR`, `ES-ES`, `PT-BR`, `ZH-S`, any letter case) or the customer's app locale (BCP 47 `fr-CA`,
 * `pt-BR`, `zh-Hans`, `es-419`, or Android's `fr_CA`) and stores the Qualtrics code, which the
 * survey link carries as `Q_Language` and the tap's pages are chosen by.
 */

/**
 * Qualtrics' documented language codes. Spanish is `ES` for Latin America and `ES-ES` for Spain;
 * a few languages have three-letter codes (`SQI` Albanian, `TGL` Tagalog, …).
 */
// biome-ignore format: a table reads better than one code a line
const QUALTRICS_LANGUAGES = [
  "AR", "ASM", "AZ-AZ", "BEL", "BG", "BN", "BS", "CA", "CEB", "CKB", "CS", "CY", "DA", "DE",
  "EL", "EN", "EN-GB", "EO", "ES", "ES-ES", "ET", "EU", "FA", "FI", "FR", "FR-CA", "GU", "HE",
  "HI", "HIL", "HR", "HU", "HYE", "ID", "ISL", "IT", "JA", "KAN", "KAT", "KAZ", "KM", "KO",
  "LT", "LV", "MAL", "MAR", "MK", "MN", "MS", "MY", "NE", "NL", "NO", "ORI", "PA-IN", "PL",
  "PT", "PT-BR", "RO", "RU", "SIN", "SK", "SL", "SO", "SQI", "SR", "SR-ME", "SV", "SW", "TA",
  "TEL", "TGL", "TH", "TR", "UK", "UR", "UZ", "VI", "ZH-S", "ZH-T",
] as const;

type QualtricsLanguage = (typeof QUALTRICS_LANGUAGES)[number];

const KNOWN = new Set<string>(QUALTRICS_LANGUAGES);

/** ISO 639 codes Qualtrics spells differently (three letters, or with a region). */
const ALIASES: Record<string, QualtricsLanguage> = {
  as: "ASM",
  az: "AZ-AZ",
  be: "BEL",
  fil: "TGL",
  hy: "HYE",
  in: "ID", // Java's and Android's old code for Indonesian
  is: "ISL",
  iw: "HE", // the same for Hebrew
  ka: "KAT",
  kk: "KAZ",
  kn: "KAN",
  ml: "MAL",
  mr: "MAR",
  nb: "NO",
  nn: "NO",
  or: "ORI",
  pa: "PA-IN",
  si: "SIN",
  sq: "SQI",
  te: "TEL",
  tl: "TGL",
};

/** Chinese scripts and the regions that write them. */
const TRADITIONAL_CHINESE = new Set(["HANT", "TW", "HK", "MO"]);

/** What the language takes from a locale's region (or script): the variants Qualtrics has. */
function regional(language: string, subtags: string[]): QualtricsLanguage | null {
  const has = (...tags: string[]) => subtags.some((tag) => tags.includes(tag));
  switch (language) {
    case "zh":
      return subtags.some((tag) => TRADITIONAL_CHINESE.has(tag)) ? "ZH-T" : "ZH-S";
    case "es":
      return has("ES") ? "ES-ES" : "ES"; // es-419, es-MX, es-US…: Latin American Spanish
    case "pt":
      return has("BR") ? "PT-BR" : "PT";
    case "fr":
      return has("CA") ? "FR-CA" : "FR";
    case "en":
      return has("GB") ? "EN-GB" : "EN";
    case "sr":
      return has("ME") ? "SR-ME" : "SR";
    default:
      return null;
  }
}

const LOCALE = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/;

/**
 * The Qualtrics code for a code or locale; null when there is none.
 * @example toQualtricsLanguage("pt-BR") // "PT-BR"
 * @example toQualtricsLanguage("zh-Hant-TW") // "ZH-T"
 * @example toQualtricsLanguage("es-419") // "ES"
 * @example toQualtricsLanguage("klingon") // null
 */
export function toQualtricsLanguage(input: string): QualtricsLanguage | null {
  const tag = input.trim().replaceAll("_", "-");
  if (tag.length > 35 || !LOCALE.test(tag)) return null;
  const upper = tag.toUpperCase();
  if (KNOWN.has(upper)) return upper as QualtricsLanguage;
  const [first = "", ...subtags] = upper.split("-");
  const language = first.toLowerCase();
  const variant = regional(language, subtags);
  if (variant) return variant;
  const alias = ALIASES[language];
  if (alias) return alias;
  return KNOWN.has(first) ? (first as QualtricsLanguage) : null;
}
