/**
 * The Qualtrics API v3 client: the only code that sends requests to Qualtrics. Its endpoints
 * build a body, send it through the transport (auth, pacing, budget, retries, timeouts) and
 * return the reply's result, parsed; a call either returns data that passed its schema or throws
 * a `QualtricsError`.
 *
 * The transactioncontacts import is the one call that is not idempotent (it creates
 * transactions): it is never repeated when its outcome is unknown.
 */
import {
  batchBody,
  exportBody,
  type ResponseExportStart,
  type ResponseUpdate,
  type TransactionImportInput,
} from "./bodies";
import { importBodyWithinLimits, updateBodyWithinLimits } from "./chunking";
import { type ExportedResponse, exportedResponse, exportFileSchema } from "./exported-responses";
import {
  batchSchema,
  exportProgressSchema,
  exportStartSchema,
  importProgress,
  importProgressSchema,
  importStartSchema,
  type JobProgress,
  jobProgress,
  type ResponseExportProgress,
  type TransactionImportProgress,
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
  startResponseExport(
    surveyId: string,
    start?: ResponseExportStart,
  ): Promise<{ progressId: string }>;
  getResponseExport(surveyId: string, progressId: string): Promise<ResponseExportProgress>;
  getResponseExportFile(
    surveyId: string,
    fileId: string,
    options: { embeddedDataIds: string[] },
  ): Promise<ExportedResponse[]>;
  startUpdateResponses(
    surveyId: string,
    updates: ResponseUpdate[],
    options?: { ignoreMissingResponses?: boolean },
  ): Promise<{ progressId: string }>;
  getUpdateResponses(surveyId: string, progressId: string): Promise<JobProgress>;
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
        method: "POST",
        path: `/directories/${seg(directoryId)}/transactionbatches`,
        body: batchBody(creationDate),
        schema: batchSchema,
      });
      return { batchId: result.id };
    },

    async importTransactionContacts(directoryId, mailingListId, input) {
      const { result } = await request({
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
        method: "GET",
        path: `${importsPath(directoryId, mailingListId)}/${seg(importId)}`,
        schema: importProgressSchema,
      });
      return importProgress(result);
    },

    async startResponseExport(surveyId, start = {}) {
      const { result } = await request({
        method: "POST",
        path: `/surveys/${seg(surveyId)}/export-responses`,
        body: exportBody(start),
        schema: exportStartSchema,
      });
      return { progressId: result.progressId };
    },

    async getResponseExport(surveyId, progressId) {
      const { result } = await request({
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

    async getResponseExportFile(surveyId, fileId, fileOptions) {
      const file = await request({
        method: "GET",
        path: `/surveys/${seg(surveyId)}/export-responses/${seg(fileId)}/file`,
        schema: exportFileSchema,
      });
      return file.responses.map((r) => exportedResponse(r, fileOptions.embeddedDataIds));
    },

    async startUpdateResponses(surveyId, updates, updateOptions = {}) {
      const { result } = await request({
        method: "POST",
        path: `/surveys/${seg(surveyId)}/update-responses`,
        body: updateBodyWithinLimits(updates, updateOptions.ignoreMissingResponses ?? true),
        schema: updateStartSchema,
      });
      return { progressId: result.progressId };
    },

    async getUpdateResponses(surveyId, progressId) {
      const { result } = await request({
        method: "GET",
        path: `/surveys/${seg(surveyId)}/update-responses/${seg(progressId)}`,
        schema: updateProgressSchema,
      });
      return jobProgress(result);
    },
  };
}
