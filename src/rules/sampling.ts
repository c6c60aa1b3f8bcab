/**
 * Sticky sampling, public and reproducible (docs/contact-rules.md#sampling): a customer is in a
 * survey's sample when the first 8 bytes of SHA-256 over `survey + "\n" + sampleSeed + "\n" +
 * customerId` (UTF-8), read as a big-endian integer, are below `sample` × 2^64. No secret is
 * involved, so analysts can recompute who was eligible; the same customer always gets the same
 * answer until `sample` or `sampleSeed` changes.
 */

const encoder = new TextEncoder();
const TWO_TO_64 = 2 ** 64;

/** The sampling value of a customer for a survey and seed: an integer in [0, 2^64). */
export async function samplingValue(
  survey: string,
  seed: string,
  customerId: string,
): Promise<bigint> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    encoder.encode(`${survey}\n${seed}\n${customerId}`),
  );
  return new DataView(digest).getBigUint64(0);
}

/**
 * Whether the customer is in the sample (`sample` in (0, 1]; 1 takes everyone without hashing).
 *
 * @example await inSample("demo", "", "customer-42", 0.1) // true: 0x02c0815dcd1b389c ≈ 0.0107 × 2^64
 */
export async function inSample(
  survey: string,
  seed: string,
  customerId: string,
  sample: number,
): Promise<boolean> {
  if (sample >= 1) return true;
  // sample × 2^64 is exact in double precision (a power-of-two scaling), then compared exactly.
  const threshold = BigInt(Math.floor(sample * TWO_TO_64));
  return (await samplingValue(survey, seed, customerId)) < threshold;
}
