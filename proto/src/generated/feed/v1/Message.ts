// Original file: proto/feed/v1/feed.proto


export interface Message {
  'id'?: (string);
  'senderId'?: (string);
  'recipientId'?: (string);
  'body'?: (string);
  'createdAt'?: (string);
}

export interface Message__Output {
  'id': (string);
  'senderId': (string);
  'recipientId': (string);
  'body': (string);
  'createdAt': (string);
}
