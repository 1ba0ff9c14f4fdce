// Original file: proto/feed/v1/feed.proto

import type { Video as _feed_v1_Video, Video__Output as _feed_v1_Video__Output } from '../../feed/v1/Video';

export interface GetFeedResponse {
  'videos'?: (_feed_v1_Video)[];
  'nextCursor'?: (string);
}

export interface GetFeedResponse__Output {
  'videos': (_feed_v1_Video__Output)[];
  'nextCursor': (string);
}
