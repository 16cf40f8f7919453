/**
 * The one error shape that crosses a worker thread's boundary, for all three workers of compute (engine, hash,
 * analysis): a SerializedError (src/shared/errors.ts), made on the worker's side by toModeldiffError and turned back
 * into a ModeldiffError on the caller's. An Error thrown across the boundary would arrive as a bare copy that has lost
 * its code and file.
 */
import { toModeldiffError, type ModeldiffError, type SerializedError } from '../../shared/errors';

/** A task's answer from a worker: its value, or why it failed. */
export type ThreadReply<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

/** Anything thrown in a worker, as it is sent to the caller. */
export function threadFailure(e: unknown): SerializedError {
  return toModeldiffError(e).toJSON();
}

/** Runs `fn` in the worker and answers with its value or its failure (never throws). */
export function replyOf<T>(fn: () => T): ThreadReply<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, error: threadFailure(e) };
  }
}

/** The failure a worker sent, as the caller throws it. */
export function fromThread(error: SerializedError): ModeldiffError {
  return toModeldiffError(error);
}

/** The value of a reply, or its failure thrown. */
export function unwrapReply<T>(reply: ThreadReply<T>): T {
  if (reply.ok) return reply.value;
  throw fromThread(reply.error);
}
