/**
 * The streaming reader of response exports, in plain Node: a 50,000-response export read through
 * an instrumented reader holds at most one chunk and one unfinished response at a time; awkward
 * chunk boundaries (inside strings, escapes, multi-byte characters) read the same as the whole
 * file; a file that is not an export is refused, never half-read as data.
 */
import { describe, expect, it } from "vitest";
import {
  ExportFileError,
  type ReadMeter,
  readExportFile,
} from "../../src/qualtrics/export-file-reader";
import { exportedResponse } from "../../src/qualtrics/exported-responses";

const encoder = new TextEncoder();

/** One response as Qualtrics exports it: embedded data inside `values` or beside it. */
function response(i: number): string {
  const embedded = {
    inv: `AA${String(i).padStart(22, "0")}`,
    venue: i % 7 === 0 ? 'Zürich "Nord" – 東京 {}[]\\\\ 👩🏽‍🚀' : "Arena North",
    seat: `B${i}`,
  };
  const values = { finished: i % 10 === 0 ? 0 : 1, recordedDate: "2026-11-28T10:00:00.000Z" };
  const element =
    i % 2 === 0
      ? { responseId: `R_${i}`, values: { ...values, ...embedded }, labels: { finished: "True" } }
      : { responseId: `R_${i}`, values, ...embedded, displayedFields: [] };
  return JSON.stringify(element);
}

/** The export file, cut into chunks of `chunkBytes` as a network would deliver them. */
function* exportChunks(count: number, chunkBytes: number): Generator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const push = function* (text: string) {
    const bytes = encoder.encode(text);
    pending.push(bytes);
    pendingBytes += bytes.length;
    while (pendingBytes >= chunkBytes) {
      const all = new Uint8Array(pendingBytes);
      let at = 0;
      for (const piece of pending) {
        all.set(piece, at);
        at += piece.length;
      }
      yield all.slice(0, chunkBytes);
      pending = [all.slice(chunkBytes)];
      pendingBytes -= chunkBytes;
    }
  };
  yield* push('{"meta": {"note": "[not the responses]"}, "responses": [');
  for (let i = 0; i < count; i++) yield* push(`${i === 0 ? "" : ","}${response(i)}`);
  yield* push('], "labels": {"responses": []}}');
  if (pendingBytes > 0) yield* pending;
}

/** A reader over chunks that counts what it hands out. */
function instrumentedReader(chunks: Iterable<Uint8Array>) {
  const iterator = chunks[Symbol.iterator]();
  const seen = { chunks: 0, bytes: 0, largest: 0 };
  const read = async () => {
    const next = iterator.next();
    if (next.done) return undefined;
    seen.chunks += 1;
    seen.bytes += next.value.length;
    seen.largest = Math.max(seen.largest, next.value.length);
    return next.value;
  };
  return { read, seen };
}

const IDS = ["inv", "venue", "seat"];

describe("reading an export as it downloads", () => {
  it("a 50,000-response export is read whole while at most one chunk and one response are buffered", async () => {
    const count = 50_000;
    const chunkBytes = 64 * 1024;
    const { read, seen } = instrumentedReader(exportChunks(count, chunkBytes));
    const meter: ReadMeter = { peakBufferedBytes: 0, bytesRead: 0 };
    let received = 0;
    let finished = 0;
    let largestBatch = 0;
    let last = "";
    const total = await readExportFile(
      read,
      (element) => exportedResponse(element, IDS),
      async (batch) => {
        received += batch.length;
        largestBatch = Math.max(largestBatch, batch.length);
        finished += batch.filter((r) => r.finished).length;
        last = batch.at(-1)?.responseId ?? last;
      },
      1_000,
      meter,
    );
    expect(total).toBe(count);
    expect(received).toBe(count);
    expect(finished).toBe(count - count / 10);
    expect(last).toBe(`R_${count - 1}`);
    expect(largestBatch).toBe(1_000);
    // Every byte went through the reader, in many chunks, and never piled up.
    expect(meter.bytesRead).toBe(seen.bytes);
    expect(seen.chunks).toBeGreaterThan(200);
    const largestResponse = Math.max(...[0, 7].map((i) => encoder.encode(response(i)).length));
    expect(meter.peakBufferedBytes).toBeLessThanOrEqual(seen.largest + largestResponse);
    expect(meter.peakBufferedBytes).toBeLessThan(seen.bytes / 100);
  });

  it("chunk boundaries anywhere (inside strings, escapes, multi-byte characters) read the same", async () => {
    const whole = [...exportChunks(30, 1 << 20)];
    const reference = await readAll(whole);
    for (const size of [1, 2, 3, 5, 17, 64]) {
      expect(await readAll([...exportChunks(30, size)])).toEqual(reference);
    }
    expect(reference).toHaveLength(30);
    expect(reference[7]?.embeddedData.venue).toBe('Zürich "Nord" – 東京 {}[]\\\\ 👩🏽‍🚀');
    expect(reference[8]?.embeddedData).toEqual({
      inv: `AA${"8".padStart(22, "0")}`,
      venue: "Arena North",
      seat: "B8",
    });
  });

  it("a file that is not an export is refused, not read as data", async () => {
    for (const text of [
      '{"result": {"responses": []}}',
      '{"responses": [{"values": {}}]}',
      '{"responses": [1, 2]}',
      '{"responses": [{"responseId": "R_1", "values": {}}',
      "<html>gateway timeout</html>",
    ]) {
      await expect(readAll([encoder.encode(text)])).rejects.toBeInstanceOf(ExportFileError);
    }
    expect(await readAll([encoder.encode('{"responses": []}')])).toEqual([]);
  });
});

async function readAll(chunks: Uint8Array[]) {
  const { read } = instrumentedReader(chunks);
  const all: ReturnType<typeof exportedResponse>[] = [];
  await readExportFile(
    read,
    (element) => exportedResponse(element, IDS),
    async (batch) => {
      all.push(...batch);
    },
    7,
  );
  return all;
}
