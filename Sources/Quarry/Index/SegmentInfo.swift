// What the manifest records of a segment: its name and id, its document count and field lengths, the sizes of its
// six immutable files, and its deletes (a generation of the `.del` file, see DeletedDocuments.swift). The segment
// files never change once written; deleting documents from a committed segment writes a new deletes generation.

/// What the manifest records of a segment.
public struct SegmentInfo: Sendable, Equatable {
    /// The segment's file name stem (`seg-00000001`).
    public var name: String
    /// 16 random bytes, repeated in every file header of the segment.
    public var id: [UInt8]
    /// Documents in the segment, deleted ones included (document numbers are `0..<docCount`).
    public var docCount: Int
    /// Per text field (index = ord - 1): the total number of terms over all documents, deleted ones included (for
    /// the average length).
    public var fieldLengths: [UInt64]
    /// Size in bytes of each file of the segment.
    public var fileSizes: [FileKind: Int]
    /// Documents deleted from the segment (the bits set in its deletes file).
    public var deletedCount: Int = 0
    /// The generation of the segment's deletes file (`seg-…_<gen>.del`); 0: no document is deleted.
    public var deleteGeneration: UInt64 = 0

    /// Documents not deleted.
    public var liveCount: Int { docCount - deletedCount }

    /// Total bytes of the segment's files.
    public var totalBytes: Int { fileSizes.values.reduce(0, +) }

    /// The path of one of the segment's immutable files in `directory`.
    public func path(_ kind: FileKind, in directory: String) -> String {
        directory + "/" + name + "." + kind.fileExtension
    }

    /// The path of the segment's current deletes file (nil if it has none).
    public func deletesPath(in directory: String) -> String? {
        deleteGeneration == 0 ? nil : DeletedDocuments.path(segment: name, generation: deleteGeneration, in: directory)
    }
}
