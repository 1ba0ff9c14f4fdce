// Original file: proto/feed/v1/feed.proto


export interface LikeVideoRequest {
  'userId'?: (string);
  'videoId'?: (string);
  'idempotencyKey'?: (string);
}

export interface LikeVideoRequest__Output {
  'userId': (string);
  'videoId': (string);
  'idempotencyKey': (string);
}
