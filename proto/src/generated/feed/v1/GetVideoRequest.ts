// Original file: proto/feed/v1/feed.proto


export interface GetVideoRequest {
  'videoId'?: (string);
}

export interface GetVideoRequest__Output {
  'videoId': (string);
}
