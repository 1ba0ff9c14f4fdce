// Hot GetFeed pages, kept for a bounded time. Every user sees the same pages
// (newest first), so a few keys take nearly all reads; concurrent misses on a
// key share one query. Staleness is bounded by the TTL: a new video or a
// drained like count shows at most FEED_PAGE_CACHE_TTL_MS late (like counts
// on pages already lag by up to one like-worker interval).

import type { Video } from "@golive/proto/loader";
import { LRUCache } from "lru-cache";

export interface FeedPage {
  videos: Video[];
  nextCursor: string;
}

export type CacheResult = "hit" | "miss" | "shared";

export class PageCache {
  private readonly cache: LRUCache<string, FeedPage, () => Promise<FeedPage>>;

  constructor(ttlMs: number, maxPages = 1000) {
    this.cache = new LRUCache({
      max: maxPages,
      ttl: ttlMs,
      // Read through: concurrent fetches of one key wait for the same load.
      fetchMethod: (_key, _stale, { context }) => context(),
    });
  }

  /** The cached page for key, else load() (once for all concurrent callers). */
  async get(key: string, load: () => Promise<FeedPage>): Promise<{ page: FeedPage; result: CacheResult }> {
    const status: LRUCache.Status<string, FeedPage, () => Promise<FeedPage>> = {};
    const page = await this.cache.fetch(key, { context: load, status });
    if (!page) throw new Error("page cache: load returned nothing");
    const result = status.fetch === "hit" ? "hit" : status.fetch === "inflight" ? "shared" : "miss";
    return { page, result };
  }
}
