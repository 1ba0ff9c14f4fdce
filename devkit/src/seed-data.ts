// Realistic demo data for the feed database (users, videos, likes), inserted
// in batches with unnest() so tens of thousands of rows take seconds. Shared by
// scripts/seed.ts and the benchmark.
import { faker } from "@faker-js/faker";
import type { Pool } from "pg";

export interface SeedSize {
  users: number;
  videos: number;
  likes: number;
}

export interface SeedResult extends SeedSize {
  userIds: string[];
  videoIds: string[];
}

const BATCH = 5_000;

async function insertBatched(pool: Pool, sql: string, columns: unknown[][]): Promise<void> {
  const total = columns[0]?.length ?? 0;
  for (let start = 0; start < total; start += BATCH) {
    await pool.query(
      sql,
      columns.map((c) => c.slice(start, start + BATCH)),
    );
  }
}

export async function seedDatabase(pool: Pool, size: SeedSize, seed = 42): Promise<SeedResult> {
  faker.seed(seed);
  const runTag = faker.string.alphanumeric(6).toLowerCase();
  const userIds = Array.from({ length: size.users }, () => faker.string.uuid());
  const handles = userIds.map((_, i) => `${faker.internet.username().toLowerCase()}_${runTag}${i}`);
  const emails = handles.map((h) => `${h}@${faker.internet.domainName()}`);
  const userCreated = userIds.map(() => faker.date.past({ years: 2 }));
  await insertBatched(
    pool,
    `insert into users (id, handle, email, created_at)
     select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])`,
    [userIds, handles, emails, userCreated],
  );

  const videoIds = Array.from({ length: size.videos }, () => faker.string.uuid());
  const authors = videoIds.map(() => faker.helpers.arrayElement(userIds));
  const titles = videoIds.map(() => faker.lorem.sentence({ min: 3, max: 8 }).replace(/\.$/, ""));
  const urls = videoIds.map((id) => `https://cdn.example.com/videos/${id}.mp4`);
  const videoCreated = videoIds.map(() => faker.date.recent({ days: 90 }));
  await insertBatched(
    pool,
    `insert into videos (id, author_id, title, url, created_at)
     select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])`,
    [videoIds, authors, titles, urls, videoCreated],
  );

  // Distinct (user, video) pairs; the caller guarantees likes <= users * videos.
  const pairs = new Set<number>();
  const n = size.users * size.videos;
  if (size.likes > n / 2) {
    const all = faker.helpers.shuffle(Array.from({ length: n }, (_, i) => i));
    for (const p of all.slice(0, size.likes)) pairs.add(p);
  } else {
    while (pairs.size < size.likes) pairs.add(faker.number.int({ min: 0, max: n - 1 }));
  }
  const likeUsers: string[] = [];
  const likeVideos: string[] = [];
  for (const p of pairs) {
    likeUsers.push(userIds[Math.floor(p / size.videos)] as string);
    likeVideos.push(videoIds[p % size.videos] as string);
  }
  await insertBatched(
    pool,
    "insert into likes (user_id, video_id) select * from unnest($1::uuid[], $2::uuid[]) on conflict do nothing",
    [likeUsers, likeVideos],
  );
  // Counts from the rows themselves, so like_count always matches likes.
  await pool.query(
    `update videos v set like_count = c.n
     from (select video_id, count(*) as n from likes where video_id = any($1::uuid[]) group by video_id) c
     where v.id = c.video_id`,
    [videoIds],
  );
  return { ...size, userIds, videoIds };
}
