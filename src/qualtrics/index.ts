/**
 * The Qualtrics API v3 client: the only code that sends requests to Qualtrics. Its endpoints
 * build a body, send it through the transport (auth, pacing, budget, retries, timeouts) and
 * return the reply's result, parsed; a call either returns data that passed its schema or throws
 * a `QualtricsError`.
 *
 * The transactioncontacts import is the one call that is not idempotent (it creates
 * transactions): it is never repeated when its outcome is unknown. Its batch's transactions can
 * be listed afterwards, which is how an unknown outcome is settled.
 */
import {
  batchBody,
  exportBody,
  type ResponseExportStart,
  type ResponseUpdate,
  type TransactionImportInput,
} from "./bodies";
import { importBodyWithinLimits, updateBodyWithinLimits } from "./chunking";
import { ExportFileError, type ReadMeter, readExportFile } from "./export-file-reader";
import { type ExportedResponse, exportedResponse } from "./exported-responses";
import { invalidReply } from "./http";
import {
  type BatchTransaction,
  batchSchema,
  batchTransaction,
  batchTransactionsSchema,
  exportProgressSchema,
  exportStartSchema,
  importProgress,
  importProgressSchema,
  importStartSchema,
  jobProgress,
  type ResponseExportProgress,
  type TransactionImportProgress,
  type UpdateJobProgress,
  updateJobProgress,
  updateProgressSchema,
  updateStartSchema,
} from "./replies";
import { createTransport, type QualtricsClientOptions } from "./transport";

interface TransactionImportStarted {
  importId: string;
  /** Indexes into the contacts sent that Qualtrics refused. */
  unprocessed: number[];
}

export interface QualtricsClient {
  /** Requests sent so far (retries and OAuth token requests included). */
  readonly calls: number;
  createTransactionBatch(directoryId: string, creationDate: Date): Promise<{ batchId: string }>;
  importTransactionContacts(
    directoryId: string,
    mailingListId: string,
    input: TransactionImportInput,
  ): Promise<TransactionImportStarted>;
  getTransactionImport(
    directoryId: string,
    mailingListId: string,
    importId: string,
  ): Promise<TransactionImportProgress>;
  /** A batch's transactions, one page per step; stop early by leaving the loop. */
  batchTransactions(directoryId: string, batchId: string): AsyncGenerator<BatchTransaction[]>;
  startResponseExport(
    surveyId: string,
    start?: ResponseExportStart,
  ): Promise<{ progressId: string }>;
  getResponseExport(surveyId: string, progressId: string): Promise<ResponseExportProgress>;
  /**
   * Reads an export file as it downloads, handing its responses to `onResponses` in batches of
   * at most `batchSize` (default 1,000); returns how many it read. A file that breaks off is
   * downloaded again from its start, so `onResponses` must be safe to repeat.
   */
  readResponseExportFile(
    surveyId: string,
    fileId: string,
    options: ExportFileOptions,
  ): Promise<number>;
  startUpdateResponses(
    surveyId: string,
    updates: ResponseUpdate[],
    options?: { ignoreMissingResponses?: boolean },
  ): Promise<{ progressId: string }>;
  getUpdateResponses(surveyId: string, progressId: string): Promise<UpdateJobProgress>;
}

interface ExportFileOptions {
  embeddedDataIds: readonly string[];
  onResponses: (responses: ExportedResponse[]) => Promise<void>;
  batchSize?: number;
  /** Watches the reader's buffering (tests, logs). */
  meter?: ReadMeter;
}

const seg = encodeURIComponent;
const importsPath = (directoryId: string, mailingListId: string) =>
  `/directories/${seg(directoryId)}/mailinglists/${seg(mailingListId)}/transactioncontacts`;

/**
 * Create a client. Give either `apiToken` or `oauth`.
 *
 * @example
 * const qualtrics = createQualtricsClient({ baseUrl: env.QUALTRICS_BASE_URL, apiToken: env.QUALTRICS_API_TOKEN, maxCalls: 200 });
 * const { batchId } = await qualtrics.createTransactionBatch(directoryId, new Date());
 */
export function createQualtricsClient(options: QualtricsClientOptions): QualtricsClient {
  if (!options.apiToken && !options.oauth)
    throw new TypeError("createQualtricsClient: give apiToken or oauth");
  const transport = createTransport(options);
  const { request } = transport;

  return {
    get calls() {
      return transport.calls;
    },

    async createTransactionBatch(directoryId, creationDate) {
      const { result } = await request({
        endpoint: "createTransactionBatch",
        method: "POST",
        path: `/directories/${seg(directoryId)}/transactionbatches`,
        body: batchBody(creationDate),
        schema: batchSchema,
      });
      return { batchId: result.id };
    },

    async importTransactionContacts(directoryId, mailingListId, input) {
      const { result } = await request({
        endpoint: "importTransactionContacts",
        method: "POST",
        path: importsPath(directoryId, mailingListId),
        // Refused here what Qualtrics would refuse: it costs no call and names the fix.
        body: importBodyWithinLimits(input),
        schema: importStartSchema,
        idempotent: false,
      });
      return {
        importId: result.id,
        unprocessed: result.contacts?.unprocessed ?? [],
      };
    },

    async getTransactionImport(directoryId, mailingListId, importId) {
      const { result } = await request({
        endpoint: "getTransactionImport",
        method: "GET",
        path: `${importsPath(directoryId, mailingListId)}/${seg(importId)}`,
        schema: importProgressSchema,
      });
      return importProgress(result);
    },

    async *batchTransactions(directoryId, batchId) {
      let path: string | null =
        `/directories/${seg(directoryId)}/transactionbatches/${seg(batchId)}/transactions`;
      while (path !== null) {
        const { result } = await request({
          endpoint: "listBatchTransactions",
          method: "GET",
          path,
          schema: batchTransactionsSchema,
        });
        yield result.elements.map(batchTransaction);
        const next = result.nextPage;
        if (next === undefined) return;
        path = transport.pathOf(next);
        // Credentials go only where the API lives.
        if (path === null) {
          throw invalidReply(
            "GET",
            `/directories/${seg(directoryId)}/transactionbatches/${seg(batchId)}/transactions`,
            200,
            `nextPage leads outside the API (${new URL(next).origin})`,
          );
        }
      }
    },

    async startResponseExport(surveyId, start = {}) {
      const { result } = await request({
        endpoint: "startResponseExport",
        method: "POST",
        path: `/surveys/${seg(surveyId)}/export-responses`,
        body: exportBody(start),
        schema: exportStartSchema,
      });
      return { progressId: result.progressId };
    },

    async getResponseExport(surveyId, progressId) {
      const { result } = await request({
        endpoint: "getResponseExport",
        method: "GET",
        path: `/surveys/${seg(surveyId)}/export-responses/${seg(progressId)}`,
        schema: exportProgressSchema,
      });
      return {
        ...jobProgress(result),
        fileId: result.fileId,
        continuationToken: result.continuationToken,
      };
    },

    readResponseExportFile(surveyId, fileId, fileOptions) {
      const path = `/surveys/${seg(surveyId)}/export-responses/${seg(fileId)}/file`;
      return transport.requestStream({ endpoint: "getResponseExportFile", path }, async (read) => {
        try {
          return await readExportFile(
            read,
            (element) => exportedResponse(element, fileOptions.embeddedDataIds),
            fileOptions.onResponses,
            fileOptions.batchSize ?? 1000,
            fileOptions.meter,
          );
        } catch (err) {
          if (!(err instanceof ExportFileError)) throw err;
          throw invalidReply("GET", path, 200, err.message);
        }
      });
    },

    async startUpdateResponses(surveyId, updates, updateOptions = {}) {
      const { result } = await request({
        endpoint: "startUpdateResponses",
        method: "POST",
        path: `/surveys/${seg(surveyId)}/update-responses`,
        body: updateBodyWithinLimits(updates, updateOptions.ignoreMissingResponses ?? true),
        schema: updateStartSchema,
      });
      return { progressId: result.progressId };
    },

    async getUpdateResponses(surveyId, progressId) {
      const { result } = await request({
        endpoint: "getUpdateResponses",
        method: "GET",
        path: `/surveys/${seg(surveyId)}/update-responses/${seg(progressId)}`,
        schema: updateProgressSchema,
      });
      return updateJobProgress(result);
    },
  };
}
