import { readFile } from 'node:fs/promises';

/** The message an agent logs once its /metrics endpoint listens (with `port` and `url`). */
export const METRICS_LISTENING_MESSAGE = 'metrics endpoint listening';

/**
 * The /metrics URL an agent logged last in its log file (a restarted agent appends, and may get
 * another port), or undefined while it has not logged one.
 */
export async function readMetricsUrl(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  let url: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.includes(METRICS_LISTENING_MESSAGE)) continue;
    try {
      const record = JSON.parse(line) as { message?: string; url?: string };
      if (record.message === METRICS_LISTENING_MESSAGE && record.url) url = record.url;
    } catch {
      // not a JSON log line
    }
  }
  return url;
}

/** Waits until every agent has logged its /metrics URL, at most `timeoutMs`; missing ones stay undefined. */
export async function waitForMetricsUrls(agents: Array<{ logFile: string }>, timeoutMs: number): Promise<Array<string | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const urls = await Promise.all(agents.map((a) => readMetricsUrl(a.logFile)));
    if (urls.every(Boolean) || Date.now() >= deadline) return urls;
    await new Promise((r) => setTimeout(r, 200));
  }
}
