// Original file: proto/feed/v1/feed.proto

import type { Long } from '@grpc/proto-loader';

export interface Video {
  'id'?: (string);
  'authorId'?: (string);
  'title'?: (string);
  'url'?: (string);
  'likeCount'?: (number | string | Long);
  'createdAt'?: (string);
}

export interface Video__Output {
  'id': (string);
  'authorId': (string);
  'title': (string);
  'url': (string);
  'likeCount': (number);
  'createdAt': (string);
}
