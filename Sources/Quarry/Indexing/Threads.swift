// The few threading primitives the indexing pipeline needs, over pthreads: a joinable thread, a blocking bounded
// queue and a cyclic barrier. (Swift concurrency's cooperative pool is the wrong tool for long CPU-bound loops that
// also block on file IO.)

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pthread mutex with a condition variable.
package final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal; call with the lock held (inside `withLock`).
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for a signal or `nanoseconds`; call with the lock held.
    func wait(nanoseconds: UInt64) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var deadline = now
        let total = UInt64(now.tv_nsec) + nanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}

/// A bounded first-in first-out queue; `push` waits while it is full, `pop` while it is empty. A ring of slots:
/// a popped item is released at once (work items hold megabytes of input).
final class BlockingQueue<Element>: @unchecked Sendable {
    private let monitor = Monitor()
    private var slots: [Element?]
    private var head = 0
    private var count = 0

    init(capacity: Int) {
        slots = Array(repeating: nil, count: max(1, capacity))
    }

    func push(_ item: Element) {
        monitor.withLock {
            while count == slots.count { monitor.wait() }
            slots[(head + count) % slots.count] = item
            count += 1
            monitor.broadcast()
        }
    }

    func pop() -> Element {
        monitor.withLock {
            while count == 0 { monitor.wait() }
            let item = slots[head].unsafelyUnwrapped
            slots[head] = nil
            head = (head + 1) % slots.count
            count -= 1
            monitor.broadcast()
            return item
        }
    }
}

/// A joinable thread running a closure.
package final class Thread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: @Sendable () -> Void

    package init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 8 << 20)
        let r = pthread_create(
            &handle, &attributes,
            { raw in
                guard let raw else { return nil }
                let thread = Unmanaged<Thread>.fromOpaque(raw).takeRetainedValue()
                thread.body()
                return nil
            }, context)
        pthread_attr_destroy(&attributes)
        if r != 0 {
            // Could not start a thread (resource limits): run inline so work still happens.
            Unmanaged<Thread>.fromOpaque(context).release()
            body()
            started = false
        }
    }

    private var started = true

    package func join() {
        if started {
            pthread_join(handle, nil)
            started = false
        }
    }

    /// The number of processors online.
    package static var processorCount: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? n : 1
    }
}
