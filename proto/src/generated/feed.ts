import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { FeedServiceClient as _feed_v1_FeedServiceClient, FeedServiceDefinition as _feed_v1_FeedServiceDefinition } from './feed/v1/FeedService';
import type { GetFeedRequest as _feed_v1_GetFeedRequest, GetFeedRequest__Output as _feed_v1_GetFeedRequest__Output } from './feed/v1/GetFeedRequest';
import type { GetFeedResponse as _feed_v1_GetFeedResponse, GetFeedResponse__Output as _feed_v1_GetFeedResponse__Output } from './feed/v1/GetFeedResponse';
import type { GetVideoRequest as _feed_v1_GetVideoRequest, GetVideoRequest__Output as _feed_v1_GetVideoRequest__Output } from './feed/v1/GetVideoRequest';
import type { LikeVideoRequest as _feed_v1_LikeVideoRequest, LikeVideoRequest__Output as _feed_v1_LikeVideoRequest__Output } from './feed/v1/LikeVideoRequest';
import type { LikeVideoResponse as _feed_v1_LikeVideoResponse, LikeVideoResponse__Output as _feed_v1_LikeVideoResponse__Output } from './feed/v1/LikeVideoResponse';
import type { Message as _feed_v1_Message, Message__Output as _feed_v1_Message__Output } from './feed/v1/Message';
import type { SendMessageRequest as _feed_v1_SendMessageRequest, SendMessageRequest__Output as _feed_v1_SendMessageRequest__Output } from './feed/v1/SendMessageRequest';
import type { StreamMessagesRequest as _feed_v1_StreamMessagesRequest, StreamMessagesRequest__Output as _feed_v1_StreamMessagesRequest__Output } from './feed/v1/StreamMessagesRequest';
import type { Video as _feed_v1_Video, Video__Output as _feed_v1_Video__Output } from './feed/v1/Video';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  feed: {
    v1: {
      FeedService: SubtypeConstructor<typeof grpc.Client, _feed_v1_FeedServiceClient> & { service: _feed_v1_FeedServiceDefinition }
      GetFeedRequest: MessageTypeDefinition<_feed_v1_GetFeedRequest, _feed_v1_GetFeedRequest__Output>
      GetFeedResponse: MessageTypeDefinition<_feed_v1_GetFeedResponse, _feed_v1_GetFeedResponse__Output>
      GetVideoRequest: MessageTypeDefinition<_feed_v1_GetVideoRequest, _feed_v1_GetVideoRequest__Output>
      LikeVideoRequest: MessageTypeDefinition<_feed_v1_LikeVideoRequest, _feed_v1_LikeVideoRequest__Output>
      LikeVideoResponse: MessageTypeDefinition<_feed_v1_LikeVideoResponse, _feed_v1_LikeVideoResponse__Output>
      Message: MessageTypeDefinition<_feed_v1_Message, _feed_v1_Message__Output>
      SendMessageRequest: MessageTypeDefinition<_feed_v1_SendMessageRequest, _feed_v1_SendMessageRequest__Output>
      StreamMessagesRequest: MessageTypeDefinition<_feed_v1_StreamMessagesRequest, _feed_v1_StreamMessagesRequest__Output>
      Video: MessageTypeDefinition<_feed_v1_Video, _feed_v1_Video__Output>
    }
  }
}

