/**
 * A first-in, first-out counting semaphore for Effect fibers.
 *
 * NOTE: effect 3.22's `Effect.makeSemaphore` wakes every waiting fiber on each
 * release, and all but one go back to waiting. With thousands of queued
 * instances that costs time and memory quadratic in the queue length: about
 * 1 GB of heap for 1,000 queued instances, measured with bench/engine.ts.
 * This semaphore hands permits to waiters in arrival order, one wake-up each.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

interface Waiter {
  readonly permits: number
  readonly ready: Deferred.Deferred<void>
  granted: boolean
}

export class FifoSemaphore {
  private free: number
  private readonly queue: Array<Waiter> = []

  constructor(readonly capacity: number) {
    this.free = capacity
  }

  private grantWaiting(): void {
    while (this.queue.length > 0 && this.queue[0]!.permits <= this.free) {
      const waiter = this.queue.shift()!
      this.free -= waiter.permits
      waiter.granted = true
      Deferred.unsafeDone(waiter.ready, Effect.void)
    }
  }

  private release(permits: number): Effect.Effect<void> {
    return Effect.sync(() => {
      this.free += permits
      this.grantWaiting()
    })
  }

  private acquire(permits: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.queue.length === 0 && permits <= this.free) {
        this.free -= permits
        return Effect.void
      }
      const waiter: Waiter = { permits, ready: Deferred.unsafeMake<void>(undefined as never), granted: false }
      this.queue.push(waiter)
      return Deferred.await(waiter.ready).pipe(
        Effect.onInterrupt(() =>
          Effect.suspend(() => {
            if (waiter.granted) return this.release(permits)
            const index = this.queue.indexOf(waiter)
            if (index >= 0) this.queue.splice(index, 1)
            // A large waiter leaving the head may unblock smaller ones behind it.
            this.grantWaiting()
            return Effect.void
          }),
        ),
      )
    })
  }

  /** Runs `effect` holding `permits` permits, released on success, failure or interruption. */
  withPermits(permits: number): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> {
    return (effect) =>
      Effect.uninterruptibleMask((restore) =>
        restore(this.acquire(permits)).pipe(Effect.zipRight(restore(effect).pipe(Effect.ensuring(this.release(permits))))),
      )
  }
}
