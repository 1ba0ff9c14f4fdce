// Original file: proto/feed/v1/feed.proto


export interface SendMessageRequest {
  'senderId'?: (string);
  'recipientId'?: (string);
  'body'?: (string);
}

export interface SendMessageRequest__Output {
  'senderId': (string);
  'recipientId': (string);
  'body': (string);
}
