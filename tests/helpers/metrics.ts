// Reading an instance's Prometheus metrics, for assertions on what it did internally.

/** The response cache's lookups so far, from the text exposition of /metrics. */
export function responseCacheLookups(metricsText: string): { hit: number; miss: number } {
  const count = (result: string) =>
    Number(new RegExp(`^graphql_response_cache_lookups_total\\{result="${result}"\\} (\\S+)$`, 'm').exec(metricsText)?.[1] ?? 0);
  return { hit: count('hit'), miss: count('miss') };
}

/** The /metrics text of the server whose GraphQL endpoint is `apiUrl`. */
export async function fetchMetrics(apiUrl: string): Promise<string> {
  const response = await fetch(new URL('/metrics', apiUrl));
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}
