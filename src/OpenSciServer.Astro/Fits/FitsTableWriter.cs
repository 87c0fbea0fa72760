using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace OpenSciServer.Astro.Fits;

/// <summary>
/// Writes a FITS file (empty primary HDU plus one BINTABLE extension) row by row to a stream, so a large query result
/// never has to sit in memory. Call <see cref="Complete"/> or <see cref="CompleteAsync"/> after the last row.
/// </summary>
/// <remarks>
/// FITS puts the row count (NAXIS2) in the header ahead of the data. Pass it to the constructor when known; otherwise the
/// stream must be seekable and the header is patched on completion.
/// </remarks>
public sealed class FitsTableWriter
{
    private const int BlockSize = 2880;
    private const int CardSize = 80;

    private readonly Stream _stream;
    private readonly FitsColumn[] _columns;
    private readonly int[] _offsets;
    private readonly int _rowWidth;
    private readonly long? _expectedRows;
    private readonly long _naxis2Position;
    private readonly byte[] _buffer;
    private int _buffered;
    private long _rows;
    private bool _completed;

    /// <param name="stream">Destination; written from its current position.</param>
    /// <param name="columns">The table's columns, in order.</param>
    /// <param name="rowCount">Number of rows that will be written, or null to patch it in at the end (seekable streams only).</param>
    /// <param name="extensionName">EXTNAME of the table HDU.</param>
    public FitsTableWriter(Stream stream, IReadOnlyList<FitsColumn> columns, long? rowCount = null, string? extensionName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count is 0 or > 999)
        {
            throw new ArgumentException("A FITS table has 1 to 999 columns.", nameof(columns));
        }

        if (rowCount is null && !stream.CanSeek)
        {
            throw new ArgumentException("Without a row count the stream must be seekable, so the header can be completed.", nameof(rowCount));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(rowCount ?? 0, nameof(rowCount));
        _stream = stream;
        _columns = [.. columns];
        _offsets = new int[_columns.Length];
        foreach (var (column, i) in _columns.Select((c, i) => (c, i)))
        {
            CheckText(column.Name, 68, nameof(columns));
            if (column.Unit is not null)
            {
                CheckText(column.Unit, 68, nameof(columns));
            }

            if (column.Type == FitsColumnType.String && column.StringWidth < 1)
            {
                throw new ArgumentException($"String column '{column.Name}' needs a StringWidth of at least 1.", nameof(columns));
            }

            _offsets[i] = _rowWidth;
            _rowWidth += column.Width;
        }

        _expectedRows = rowCount;
        _buffer = new byte[Math.Max(_rowWidth, 64 * 1024)];

        var header = new HeaderBuilder();
        header.Logical("SIMPLE", true, "conforms to FITS standard");
        header.Integer("BITPIX", 8);
        header.Integer("NAXIS", 0);
        header.Logical("EXTEND", true);
        header.End();
        header.String("XTENSION", "BINTABLE", "binary table extension");
        header.Integer("BITPIX", 8);
        header.Integer("NAXIS", 2);
        header.Integer("NAXIS1", _rowWidth, "bytes per row");
        var naxis2Card = header.Cards.Count;
        header.Integer("NAXIS2", rowCount ?? 0, "number of rows");
        header.Integer("PCOUNT", 0);
        header.Integer("GCOUNT", 1);
        header.Integer("TFIELDS", _columns.Length);
        for (var i = 0; i < _columns.Length; i++)
        {
            var n = (i + 1).ToString(CultureInfo.InvariantCulture);
            var column = _columns[i];
            header.String("TTYPE" + n, column.Name);
            header.String("TFORM" + n, column.Form);
            if (column.Unit is not null)
            {
                header.String("TUNIT" + n, column.Unit);
            }

            if (column.NullValue is { } nullValue)
            {
                header.Integer("TNULL" + n, nullValue);
            }
        }

        if (extensionName is not null)
        {
            CheckText(extensionName, 68, nameof(extensionName));
            header.String("EXTNAME", extensionName);
        }

        header.End();
        var bytes = header.ToBytes();
        _naxis2Position = stream.CanSeek ? stream.Position + (naxis2Card * CardSize) : -1;
        stream.Write(bytes);
    }

    /// <summary>Rows written so far.</summary>
    public long RowCount => _rows;

    /// <summary>Appends one row; <paramref name="values"/> holds one value (or null) per column.</summary>
    public void WriteRow(params ReadOnlySpan<object?> values)
    {
        EncodeRow(values);
        if (_buffer.Length - _buffered < _rowWidth)
        {
            _stream.Write(_buffer, 0, _buffered);
            _buffered = 0;
        }
    }

    /// <summary>Appends one row, writing to the stream asynchronously when the internal buffer fills.</summary>
    public async ValueTask WriteRowAsync(object?[] values, CancellationToken cancellationToken = default)
    {
        EncodeRow(values);
        if (_buffer.Length - _buffered < _rowWidth)
        {
            await _stream.WriteAsync(_buffer.AsMemory(0, _buffered), cancellationToken);
            _buffered = 0;
        }
    }

    /// <summary>Writes the buffered rows, the padding of the last block and, if needed, the final row count.</summary>
    public void Complete()
    {
        var padding = BeginComplete();
        _stream.Write(_buffer, 0, _buffered);
        _stream.Write(padding);
        _buffered = 0;
        PatchRowCount();
        _stream.Flush();
    }

    /// <inheritdoc cref="Complete"/>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        var padding = BeginComplete();
        await _stream.WriteAsync(_buffer.AsMemory(0, _buffered), cancellationToken);
        await _stream.WriteAsync(padding, cancellationToken);
        _buffered = 0;
        PatchRowCount();
        await _stream.FlushAsync(cancellationToken);
    }

    private byte[] BeginComplete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_expectedRows is { } expected && expected != _rows)
        {
            throw new InvalidOperationException($"The header promised {expected} rows but {_rows} were written.");
        }

        _completed = true;
        var dataBytes = _rows * _rowWidth;
        var remainder = (int)(dataBytes % BlockSize);
        return new byte[remainder == 0 ? 0 : BlockSize - remainder]; // data blocks are padded with zeros
    }

    private void PatchRowCount()
    {
        if (_expectedRows is not null)
        {
            return;
        }

        var end = _stream.Position;
        _stream.Position = _naxis2Position;
        _stream.Write(HeaderBuilder.IntegerCard("NAXIS2", _rows, "number of rows"));
        _stream.Position = end;
    }

    private void EncodeRow(ReadOnlySpan<object?> values)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (values.Length != _columns.Length)
        {
            throw new ArgumentException($"Expected {_columns.Length} values, got {values.Length}.", nameof(values));
        }

        if (_expectedRows is { } expected && _rows >= expected)
        {
            throw new InvalidOperationException($"The header promised {expected} rows.");
        }

        var row = _buffer.AsSpan(_buffered, _rowWidth);
        for (var i = 0; i < _columns.Length; i++)
        {
            Encode(_columns[i], values[i], row.Slice(_offsets[i], _columns[i].Width));
        }

        _buffered += _rowWidth;
        _rows++;
    }

    private static void Encode(FitsColumn column, object? value, Span<byte> cell)
    {
        if (value is null && column.Type is not (FitsColumnType.Double or FitsColumnType.Single or FitsColumnType.Boolean or FitsColumnType.String)
            && column.NullValue is null)
        {
            throw new ArgumentException($"Column '{column.Name}' is not nullable.");
        }

        switch (column.Type)
        {
            case FitsColumnType.Int64:
                BinaryPrimitives.WriteInt64BigEndian(cell, value is null ? long.MinValue : NotSentinel(column, Cast<long>(column, value)));
                break;
            case FitsColumnType.Int32:
                BinaryPrimitives.WriteInt32BigEndian(cell, value is null ? int.MinValue : (int)NotSentinel(column, Cast<int>(column, value)));
                break;
            case FitsColumnType.Int16:
                BinaryPrimitives.WriteInt16BigEndian(cell, value is null ? short.MinValue : (short)NotSentinel(column, Cast<short>(column, value)));
                break;
            case FitsColumnType.Byte:
                cell[0] = value is null ? byte.MaxValue : (byte)NotSentinel(column, Cast<byte>(column, value));
                break;
            case FitsColumnType.Double:
                BinaryPrimitives.WriteDoubleBigEndian(cell, value is null ? double.NaN : Cast<double>(column, value));
                break;
            case FitsColumnType.Single:
                BinaryPrimitives.WriteSingleBigEndian(cell, value is null ? float.NaN : Cast<float>(column, value));
                break;
            case FitsColumnType.Boolean:
                cell[0] = value is null ? (byte)0 : Cast<bool>(column, value) ? (byte)'T' : (byte)'F';
                break;
            case FitsColumnType.String:
                var text = value is null ? string.Empty : Cast<string>(column, value);
                CheckText(text, column.StringWidth, column.Name);
                cell.Clear(); // NUL after the text ends a FITS string
                Encoding.ASCII.GetBytes(text, cell);
                break;
        }
    }

    private static T Cast<T>(FitsColumn column, object value) =>
        value is T typed ? typed : throw new ArgumentException($"Column '{column.Name}' holds {typeof(T).Name}, not {value.GetType().Name}.");

    private static long NotSentinel(FitsColumn column, long value) =>
        value == column.NullValue
            ? throw new ArgumentException($"Column '{column.Name}' uses {value} as its null value (TNULL); it cannot be stored.")
            : value;

    private static void CheckText(string text, int maxLength, string what)
    {
        if (text.Length > maxLength || text.Any(c => c is < ' ' or > '~'))
        {
            throw new ArgumentException($"'{text}' must be printable ASCII of at most {maxLength} characters ({what}).");
        }
    }

    private sealed class HeaderBuilder
    {
        public List<byte[]> Cards { get; } = [];

        public void Logical(string key, bool value, string? comment = null) =>
            Cards.Add(Card(key, (value ? "T" : "F").PadLeft(20), comment));

        public void Integer(string key, long value, string? comment = null) => Cards.Add(IntegerCard(key, value, comment));

        public void String(string key, string value, string? comment = null) =>
            Cards.Add(Card(key, ("'" + value.Replace("'", "''", StringComparison.Ordinal).PadRight(8) + "'").PadRight(20), comment));

        public void End()
        {
            Cards.Add(Encoding.ASCII.GetBytes("END".PadRight(CardSize)));
            var inBlock = Cards.Count % (BlockSize / CardSize);
            for (var i = 0; inBlock != 0 && i < (BlockSize / CardSize) - inBlock; i++)
            {
                Cards.Add(Encoding.ASCII.GetBytes(new string(' ', CardSize)));
            }
        }

        public byte[] ToBytes() => [.. Cards.SelectMany(c => c)];

        public static byte[] IntegerCard(string key, long value, string? comment = null) =>
            Card(key, value.ToString(CultureInfo.InvariantCulture).PadLeft(20), comment);

        private static byte[] Card(string key, string value, string? comment)
        {
            var text = key.PadRight(8) + "= " + value + (comment is null ? "" : " / " + comment);
            if (text.Length > CardSize)
            {
                text = text[..CardSize];
            }

            return Encoding.ASCII.GetBytes(text.PadRight(CardSize));
        }
    }
}
