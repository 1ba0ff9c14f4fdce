// Original file: proto/feed/v1/feed.proto

import type { Long } from '@grpc/proto-loader';

export interface LikeVideoResponse {
  'videoId'?: (string);
  'likeCount'?: (number | string | Long);
  'created'?: (boolean);
}

export interface LikeVideoResponse__Output {
  'videoId': (string);
  'likeCount': (number);
  'created': (boolean);
}
