// Original file: proto/feed/v1/feed.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetFeedRequest as _feed_v1_GetFeedRequest, GetFeedRequest__Output as _feed_v1_GetFeedRequest__Output } from '../../feed/v1/GetFeedRequest';
import type { GetFeedResponse as _feed_v1_GetFeedResponse, GetFeedResponse__Output as _feed_v1_GetFeedResponse__Output } from '../../feed/v1/GetFeedResponse';
import type { GetVideoRequest as _feed_v1_GetVideoRequest, GetVideoRequest__Output as _feed_v1_GetVideoRequest__Output } from '../../feed/v1/GetVideoRequest';
import type { LikeVideoRequest as _feed_v1_LikeVideoRequest, LikeVideoRequest__Output as _feed_v1_LikeVideoRequest__Output } from '../../feed/v1/LikeVideoRequest';
import type { LikeVideoResponse as _feed_v1_LikeVideoResponse, LikeVideoResponse__Output as _feed_v1_LikeVideoResponse__Output } from '../../feed/v1/LikeVideoResponse';
import type { Message as _feed_v1_Message, Message__Output as _feed_v1_Message__Output } from '../../feed/v1/Message';
import type { SendMessageRequest as _feed_v1_SendMessageRequest, SendMessageRequest__Output as _feed_v1_SendMessageRequest__Output } from '../../feed/v1/SendMessageRequest';
import type { StreamMessagesRequest as _feed_v1_StreamMessagesRequest, StreamMessagesRequest__Output as _feed_v1_StreamMessagesRequest__Output } from '../../feed/v1/StreamMessagesRequest';
import type { Video as _feed_v1_Video, Video__Output as _feed_v1_Video__Output } from '../../feed/v1/Video';

export interface FeedServiceClient extends grpc.Client {
  GetFeed(argument: _feed_v1_GetFeedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  GetFeed(argument: _feed_v1_GetFeedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  GetFeed(argument: _feed_v1_GetFeedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  GetFeed(argument: _feed_v1_GetFeedRequest, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  getFeed(argument: _feed_v1_GetFeedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  getFeed(argument: _feed_v1_GetFeedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  getFeed(argument: _feed_v1_GetFeedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  getFeed(argument: _feed_v1_GetFeedRequest, callback: grpc.requestCallback<_feed_v1_GetFeedResponse__Output>): grpc.ClientUnaryCall;
  
  GetVideo(argument: _feed_v1_GetVideoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  GetVideo(argument: _feed_v1_GetVideoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  GetVideo(argument: _feed_v1_GetVideoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  GetVideo(argument: _feed_v1_GetVideoRequest, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  getVideo(argument: _feed_v1_GetVideoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  getVideo(argument: _feed_v1_GetVideoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  getVideo(argument: _feed_v1_GetVideoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  getVideo(argument: _feed_v1_GetVideoRequest, callback: grpc.requestCallback<_feed_v1_Video__Output>): grpc.ClientUnaryCall;
  
  LikeVideo(argument: _feed_v1_LikeVideoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  LikeVideo(argument: _feed_v1_LikeVideoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  LikeVideo(argument: _feed_v1_LikeVideoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  LikeVideo(argument: _feed_v1_LikeVideoRequest, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  likeVideo(argument: _feed_v1_LikeVideoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  likeVideo(argument: _feed_v1_LikeVideoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  likeVideo(argument: _feed_v1_LikeVideoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  likeVideo(argument: _feed_v1_LikeVideoRequest, callback: grpc.requestCallback<_feed_v1_LikeVideoResponse__Output>): grpc.ClientUnaryCall;
  
  SendMessage(argument: _feed_v1_SendMessageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _feed_v1_SendMessageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _feed_v1_SendMessageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _feed_v1_SendMessageRequest, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _feed_v1_SendMessageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _feed_v1_SendMessageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _feed_v1_SendMessageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _feed_v1_SendMessageRequest, callback: grpc.requestCallback<_feed_v1_Message__Output>): grpc.ClientUnaryCall;
  
  StreamMessages(argument: _feed_v1_StreamMessagesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_feed_v1_Message__Output>;
  StreamMessages(argument: _feed_v1_StreamMessagesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_feed_v1_Message__Output>;
  streamMessages(argument: _feed_v1_StreamMessagesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_feed_v1_Message__Output>;
  streamMessages(argument: _feed_v1_StreamMessagesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_feed_v1_Message__Output>;
  
}

export interface FeedServiceHandlers extends grpc.UntypedServiceImplementation {
  GetFeed: grpc.handleUnaryCall<_feed_v1_GetFeedRequest__Output, _feed_v1_GetFeedResponse>;
  
  GetVideo: grpc.handleUnaryCall<_feed_v1_GetVideoRequest__Output, _feed_v1_Video>;
  
  LikeVideo: grpc.handleUnaryCall<_feed_v1_LikeVideoRequest__Output, _feed_v1_LikeVideoResponse>;
  
  SendMessage: grpc.handleUnaryCall<_feed_v1_SendMessageRequest__Output, _feed_v1_Message>;
  
  StreamMessages: grpc.handleServerStreamingCall<_feed_v1_StreamMessagesRequest__Output, _feed_v1_Message>;
  
}

export interface FeedServiceDefinition extends grpc.ServiceDefinition {
  GetFeed: MethodDefinition<_feed_v1_GetFeedRequest, _feed_v1_GetFeedResponse, _feed_v1_GetFeedRequest__Output, _feed_v1_GetFeedResponse__Output>
  GetVideo: MethodDefinition<_feed_v1_GetVideoRequest, _feed_v1_Video, _feed_v1_GetVideoRequest__Output, _feed_v1_Video__Output>
  LikeVideo: MethodDefinition<_feed_v1_LikeVideoRequest, _feed_v1_LikeVideoResponse, _feed_v1_LikeVideoRequest__Output, _feed_v1_LikeVideoResponse__Output>
  SendMessage: MethodDefinition<_feed_v1_SendMessageRequest, _feed_v1_Message, _feed_v1_SendMessageRequest__Output, _feed_v1_Message__Output>
  StreamMessages: MethodDefinition<_feed_v1_StreamMessagesRequest, _feed_v1_Message, _feed_v1_StreamMessagesRequest__Output, _feed_v1_Message__Output>
}
