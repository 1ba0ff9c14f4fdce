// The NOTIFY that carries a stored message to every replica's listener: its
// channel and its payload, written by the store and read by the message bus.
import type { Message } from "@golive/proto/loader";

export const MESSAGES_CHANNEL = "feed_messages";
// NOTIFY payloads must stay under 8000 bytes; bigger messages are sent by id.
const MAX_NOTIFY_BYTES = 7_000;

/** The message as JSON, or only its id and recipient when that would be too big. */
export function messagePayload(message: Message): string {
  const full = JSON.stringify(message);
  return Buffer.byteLength(full) <= MAX_NOTIFY_BYTES
    ? full
    : JSON.stringify({ id: message.id, recipientId: message.recipientId });
}

/** A payload read back: the whole message, or its id for the listener to load. */
export function parseMessagePayload(payload: string): { id: string; recipientId: string; message?: Message } {
  const parsed = JSON.parse(payload) as Partial<Message> & { id: string; recipientId: string };
  return {
    id: parsed.id,
    recipientId: parsed.recipientId,
    message: parsed.body === undefined ? undefined : (parsed as Message),
  };
}
