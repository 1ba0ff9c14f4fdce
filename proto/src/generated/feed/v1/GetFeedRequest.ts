// Original file: proto/feed/v1/feed.proto


export interface GetFeedRequest {
  'userId'?: (string);
  'pageSize'?: (number);
  'cursor'?: (string);
}

export interface GetFeedRequest__Output {
  'userId': (string);
  'pageSize': (number);
  'cursor': (string);
}
