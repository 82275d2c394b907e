/**
 * A minimal Step Functions client for tests: @aws-sdk/client-sfn is not installed, and the
 * emulators do not check signatures, so the JSON protocol is spoken directly. The service is
 * named in the Authorization header's credential scope, which is how moto routes the request.
 */
export async function sfn<T = Record<string, any>>(endpoint: string, action: string, body: Record<string, unknown>, region = 'us-east-1'): Promise<T> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `AWSStepFunctions.${action}`,
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/states/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Polls DescribeExecution until the execution leaves RUNNING. */
export async function waitForExecution(endpoint: string, executionArn: string, timeoutMs = 10000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await sfn(endpoint, 'DescribeExecution', { executionArn });
    if (execution.status !== 'RUNNING' || Date.now() > deadline) return execution;
    await new Promise((r) => setTimeout(r, 100));
  }
}
