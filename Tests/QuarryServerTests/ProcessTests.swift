// `quarry serve` as a process: SIGTERM while a request is still uploading (it finishes, the server commits and
// exits 0), and a clear error when the port is taken.

import Foundation
import QuarryTestSupport
import Testing

@testable import Quarry

/// A `quarry serve` process and the port it announced.
struct ServeProcess {
    let process: Process
    let port: Int
    let stderr: Pipe

    init(_ arguments: [String]) throws {
        let quarry = try #require(quarryExecutable(), "the quarry executable is built beside the tests")
        process = Process()
        process.executableURL = URL(fileURLWithPath: quarry)
        process.arguments = ["serve"] + arguments
        stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // "quarry: serving N documents at http://127.0.0.1:PORT/"
        var text = ""
        var port = 0
        while port == 0 {
            let data = stderr.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let r = text.range(of: "at http://127.0.0.1:") {
                let digits = text[r.upperBound...].prefix { $0.isNumber }
                if text[r.upperBound...].dropFirst(digits.count).first == "/" { port = Int(digits) ?? 0 }
            }
        }
        self.port = port
    }

    /// What it printed after the start line, once it has exited.
    func remainingOutput() -> String {
        String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}

/// Runs curl; returns its standard output.
func curl(_ arguments: [String]) throws -> (Process, Pipe) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-s"] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    return (p, out)
}

@Suite(.serialized) struct ProcessTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")))
    func sigtermLetsARequestInFlightFinish() throws {
        let dir = TemporaryDirectory()
        let index = dir.file("idx")
        try makeCorpusIndex(index, documents: 20)
        let server = try ServeProcess(["-i", index, "--port", "0", "--writable", "--log-level", "warning"])
        #expect(server.port > 0)
        // 2,000 documents, about 100 kB, uploaded at 50 kB/s: two seconds in flight.
        var body = ""
        for i in 0..<2000 { body += "{\"id\":\"up-\(i)\",\"body\":\"uploaded slowly \(i) walrus\"}\n" }
        let bodyFile = dir.file("body.jsonl")
        writeFile(bodyFile, body)
        let (upload, output) = try curl([
            "--limit-rate", "50k", "-X", "POST", "--data-binary", "@" + bodyFile,
            "http://127.0.0.1:\(server.port)/docs",
        ])
        usleep(600_000)
        server.process.terminate()  // SIGTERM
        upload.waitUntilExit()
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(answer.contains("\"added\":2000"), "\(answer)")
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0, "\(server.remainingOutput())")
        // The upload was committed at shutdown.
        let reader = try IndexReader(directory: index)
        #expect(reader.documentCount == 2020)
        // Nothing listens any more.
        let (late, lateOut) = try curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/health"])
        late.waitUntilExit()
        #expect(String(decoding: lateOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "000")
    }

    @Test func aTakenPortIsAClearError() throws {
        let dir = TemporaryDirectory()
        let index = dir.file("idx")
        try makeCorpusIndex(index, documents: 5)
        let first = try ServeProcess(["-i", index, "--port", "0", "--log-level", "warning"])
        let quarry = try #require(quarryExecutable())
        let second = Process()
        second.executableURL = URL(fileURLWithPath: quarry)
        second.arguments = ["serve", "-i", index, "--port", String(first.port), "--log-level", "critical"]
        let err = Pipe()
        second.standardError = err
        try second.run()
        second.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(second.terminationStatus == 2)
        #expect(message.contains("the port is taken"), "\(message)")
        first.process.terminate()
        first.process.waitUntilExit()
        #expect(first.process.terminationStatus == 0)
    }
}
