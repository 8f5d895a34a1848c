/** Why an alert did not reach a receiver. Messages name the receiver and its variables, never their values. */
import { BosunError, type ErrorReason } from "../errors.js";

/** An alert a receiver did not take: not configured, refused (4xx) or unreachable (network, 5xx). */
export class AlertDeliveryError extends BosunError {
  /** The receiver's name from the spec. */
  readonly receiver: string;
  /** The HTTP status the receiver answered with, when it answered. */
  readonly status: number | undefined;

  constructor(receiver: string, message: string, options: { reason: ErrorReason; retryable: boolean; status?: number }) {
    super(`alert receiver ${receiver}: ${message}`, { reason: options.reason, retryable: options.retryable });
    this.receiver = receiver;
    this.status = options.status;
  }
}
