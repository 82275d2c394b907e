import { paginateQuery, paginateScan, type DynamoDBDocumentClient, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';

/** Every item a query returns, across pages. */
export async function queryAll<T>(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginateQuery({ client: doc }, input)) items.push(...((page.Items ?? []) as T[]));
  return items;
}

/** Every item a scan returns, across pages. */
export async function scanAll<T>(doc: DynamoDBDocumentClient, input: ScanCommandInput): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginateScan({ client: doc }, input)) items.push(...((page.Items ?? []) as T[]));
  return items;
}
