import { DeliverPolicy, type ConsumerMessages, type NatsConnection } from 'nats';

const decoder = new TextDecoder();
const TERMINAL = ['checkout.order.completed', 'checkout.order.failed', 'checkout.order.cancelled'];

/**
 * A subscriber of the checkout's terminal events (an ordered JetStream consumer from "now"), so
 * scenario 1 can time each checkout from `POST /checkouts` to `checkout.order.completed` received.
 *
 * @example
 * const completions = await CompletionListener.start(nc);
 * const receivedAt = await completions.wait(orderId, 60_000);
 */
export class CompletionListener {
  private readonly arrived = new Map<string, { at: number; type: string }>();
  private readonly waiting = new Map<string, (arrival: { at: number; type: string }) => void>();
  private loop: Promise<void> = Promise.resolve();

  private constructor(private readonly messages: ConsumerMessages) {}

  static async start(nc: NatsConnection): Promise<CompletionListener> {
    const consumer = await nc
      .jetstream()
      .consumers.get('CHECKOUT', { filterSubjects: TERMINAL, deliver_policy: DeliverPolicy.New });
    const listener = new CompletionListener(await consumer.consume());
    listener.loop = listener.read();
    return listener;
  }

  private async read(): Promise<void> {
    for await (const msg of this.messages) {
      const at = performance.now();
      const event = JSON.parse(decoder.decode(msg.data)) as { subject?: string; type?: string };
      if (typeof event.subject !== 'string') continue;
      const arrival = { at, type: event.type ?? msg.subject };
      const waiter = this.waiting.get(event.subject);
      if (waiter) {
        this.waiting.delete(event.subject);
        waiter(arrival);
      } else this.arrived.set(event.subject, arrival);
    }
  }

  /**
   * Resolves with the `performance.now()` at which the order's terminal event arrived.
   *
   * @throws Error when it does not arrive within `timeoutMs`, or the order did not complete.
   */
  async wait(orderId: string, timeoutMs: number): Promise<number> {
    const early = this.arrived.get(orderId);
    const arrival =
      early ??
      (await new Promise<{ at: number; type: string }>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiting.delete(orderId);
          reject(new Error(`no terminal event for order ${orderId} within ${timeoutMs / 1000}s`));
        }, timeoutMs);
        this.waiting.set(orderId, (a) => {
          clearTimeout(timer);
          resolve(a);
        });
      }));
    this.arrived.delete(orderId);
    if (arrival.type !== 'checkout.order.completed')
      throw new Error(`order ${orderId} ended with ${arrival.type}, not checkout.order.completed`);
    return arrival.at;
  }

  async stop(): Promise<void> {
    await this.messages.close();
    await this.loop;
  }
}
