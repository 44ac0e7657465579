/// A non-owning, row-major view of `rows × columns` floats whose rows start
/// `stride` floats apart.
///
/// Views let one buffer serve several roles without copies: a layer writes its
/// output into the leading columns of the next layer's wider input (the critic's
/// concatenated action lives in the trailing columns), and a batch smaller than
/// the workspace's capacity is just a view over its first rows.
public struct MatrixView {
    public let base: UnsafeMutablePointer<Float>
    public let rows: Int
    public let columns: Int
    public let stride: Int

    @inlinable
    public init(base: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int? = nil) {
        let stride = stride ?? columns
        precondition(rows >= 0 && columns >= 0 && stride >= columns, "invalid matrix view \(rows)x\(columns) stride \(stride)")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.stride = stride
    }

    @inlinable
    public subscript(row: Int, column: Int) -> Float {
        get { base[row * stride + column] }
        nonmutating set { base[row * stride + column] = newValue }
    }

    /// A pointer to the first element of `row`.
    @inlinable
    public func row(_ row: Int) -> UnsafeMutablePointer<Float> { base + row * stride }

    /// The first `count` rows.
    @inlinable
    public func topRows(_ count: Int) -> MatrixView {
        precondition(count <= rows, "asked for \(count) rows of \(rows)")
        return MatrixView(base: base, rows: count, columns: columns, stride: stride)
    }

    /// Rows `range`, sharing storage.
    @inlinable
    public func rows(_ range: Range<Int>) -> MatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) out of 0..<\(rows)")
        return MatrixView(base: base + range.lowerBound * stride, rows: range.count, columns: columns, stride: stride)
    }

    /// Columns `range` of every row, sharing storage.
    @inlinable
    public func columns(_ range: Range<Int>) -> MatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns, "columns \(range) out of 0..<\(columns)")
        return MatrixView(base: base + range.lowerBound, rows: rows, columns: range.count, stride: stride)
    }

    /// Copies the elements row by row into a new array (for tests and reporting, not hot paths).
    public func toArray() -> [Float] {
        var result: [Float] = []
        result.reserveCapacity(rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { result.append(self[r, c]) }
        }
        return result
    }

    /// Overwrites the elements from a row-major array of `rows × columns` values.
    public func assign(_ values: [Float]) {
        precondition(values.count == rows * columns, "expected \(rows * columns) values, got \(values.count)")
        for r in 0..<rows {
            for c in 0..<columns { self[r, c] = values[r * columns + c] }
        }
    }

    /// Overwrites the elements from `rows × columns` contiguous row-major values, honouring this view's
    /// stride: a view of the first columns of a wider matrix (a critic's observation beside its action)
    /// has rows that are not contiguous.
    public func copyRows(from source: UnsafePointer<Float>) {
        if stride == columns { return base.update(from: source, count: rows * columns) }
        for r in 0..<rows { row(r).update(from: source + r * columns, count: columns) }
    }

    public func fill(_ value: Float) {
        for r in 0..<rows {
            row(r).update(repeating: value, count: columns)
        }
    }
}

/// An owned, contiguous, 64-byte aligned row-major matrix.
///
/// A class rather than a struct with an array: the hot path hands raw pointers
/// to OpenBLAS, and an owner with a stable address never triggers Swift's
/// copy-on-write checks or allocations in the middle of an update.
public final class Matrix {
    public let rows: Int
    public let columns: Int
    public let storage: UnsafeMutablePointer<Float>

    public init(rows: Int, columns: Int, fill value: Float = 0) {
        precondition(rows >= 0 && columns >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        storage = allocateFloats(max(rows * columns, 1))
        storage.initialize(repeating: value, count: max(rows * columns, 1))
    }

    public convenience init(rows: Int, columns: Int, values: [Float]) {
        self.init(rows: rows, columns: columns)
        view.assign(values)
    }

    deinit { storage.deallocate() }

    @inlinable
    public var view: MatrixView { MatrixView(base: storage, rows: rows, columns: columns) }

    @inlinable
    public var count: Int { rows * columns }

    @inlinable
    public subscript(row: Int, column: Int) -> Float {
        get { storage[row * columns + column] }
        set { storage[row * columns + column] = newValue }
    }
}

/// Allocates `count` floats aligned for AVX-512 loads; the caller initializes them.
@inlinable
public func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        .bindMemory(to: Float.self, capacity: count)
}
