/**
 * The daemon's metrics that are read from other modules' counters when scraped: they must show the
 * counters' current values, not a snapshot from start-up.
 */
import { describe, expect, it } from "vitest";
import { DaemonMetrics } from "../../../src/daemon/metrics.js";
import { chartFetchStats } from "../../../src/source/chart-fetch.js";

describe("bosun_chart_fetches", () => {
  it("shows the chart fetcher's counters as they are at scrape time", async () => {
    const metrics = new DaemonMetrics({ defaultMetrics: false });
    const before = { ...chartFetchStats };
    chartFetchStats.indexNotModified += 2;
    chartFetchStats.ociPulls += 1;
    try {
      const text = await metrics.registry.metrics();
      expect(text).toContain(`bosun_chart_fetches{counter="index_not_modified"} ${String(before.indexNotModified + 2)}`);
      expect(text).toContain(`bosun_chart_fetches{counter="oci_pulls"} ${String(before.ociPulls + 1)}`);
      expect(text).toContain(`bosun_chart_fetches{counter="downloads"} ${String(before.chartDownloads)}`);
    } finally {
      Object.assign(chartFetchStats, before);
    }
  });
});
