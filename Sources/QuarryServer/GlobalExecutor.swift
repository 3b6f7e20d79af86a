// Swift concurrency's jobs on SwiftNIO's event loops (`quarry serve` only): a request's handler then runs on the
// event loop that read the request, without handing it to the runtime's thread pool and back (two thread wakeups
// per request, about 100 µs of latency on this project's VM: BENCHMARKS.md).
//
// SwiftNIO does this itself (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
// but finds the runtime's hook with dlsym, which fails when the Swift runtime is linked statically (the release
// `quarry`, to save 2 ms of every shell search). CQuarry sets the same hook directly; this file gives it the
// function that puts a job on an event loop. The only unsafe code of the server: a job's pointer rebuilt as the
// `UnownedJob` it is.

import CQuarry
import NIOCore
import NIOPosix

enum GlobalExecutor {
    /// Makes NIO's singleton event loops Swift concurrency's global executor. Call once, before any task runs.
    /// Returns false if it could not (then the runtime's own pool runs tasks, as usual).
    static func install(threads: Int) -> Bool {
        NIOSingletons.groupLoopCountSuggestion = threads
        if NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() { return true }
        // The event loops exist before the first job arrives.
        _ = MultiThreadedEventLoopGroup.singleton
        return quarry_install_global_executor { job in
            guard let job else { return }
            let unowned = unsafeBitCast(job, to: UnownedJob.self)
            // `any()` is the current event loop when called from one: a job enqueued by a handler stays on its
            // thread.
            MultiThreadedEventLoopGroup.singleton.any().executor.enqueue(unowned)
        } == 1
    }
}
