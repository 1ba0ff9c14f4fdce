// Original file: proto/feed/v1/feed.proto


export interface StreamMessagesRequest {
  'userId'?: (string);
  'since'?: (string);
}

export interface StreamMessagesRequest__Output {
  'userId': (string);
  'since': (string);
}
