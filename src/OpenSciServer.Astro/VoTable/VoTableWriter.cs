using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Xml;

namespace OpenSciServer.Astro.VoTable;

/// <summary>VOTable FIELD datatypes a column can have.</summary>
[SuppressMessage("Naming", "CA1720", Justification = "The members are VOTable's own datatype names.")]
public enum VoTableType
{
    Boolean,
    UnsignedByte,
    Short,
    Int,
    Long,
    Float,
    Double,

    /// <summary>Text of any length (arraysize="*"): <c>char</c> in TABLEDATA, <c>unicodeChar</c> in BINARY2.</summary>
    Text,
}

/// <summary>How the rows are written: XML cells, or the base64 binary stream with a null-flag bitmap per row.</summary>
public enum VoTableSerialization
{
    TableData,
    Binary2,
}

/// <summary>One FIELD. A row value must be null or of the matching .NET type (bool, byte, short, int, long, float, double, string).</summary>
public sealed record VoTableColumn(string Name, VoTableType Type, string? Unit = null);

/// <summary>
/// Writes an IVOA VOTable 1.4 document with one table, row by row, so a large table never sits in memory.
/// TABLEDATA writes NULL as an empty cell; BINARY2 (VOTable 1.3+) starts each row with one bit per column
/// (most significant bit first) that marks NULLs, then the values big-endian, text as a 4-byte length and
/// UCS-2 characters. Call <see cref="CompleteAsync"/> after the last row.
/// </summary>
public sealed class VoTableWriter : IAsyncDisposable
{
    private const string Ns = "http://www.ivoa.net/xml/VOTable/v1.3";
    private const int Chunk = 3 * 16384;

    private readonly XmlWriter _xml;
    private readonly VoTableColumn[] _columns;
    private readonly VoTableSerialization _serialization;
    private readonly List<byte> _binary = new(Chunk * 2);
    private bool _started;
    private bool _completed;

    public VoTableWriter(Stream stream, IReadOnlyList<VoTableColumn> columns, VoTableSerialization serialization, string? tableName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0)
        {
            throw new ArgumentException("A table needs at least one column.", nameof(columns));
        }

        _columns = [.. columns];
        _serialization = serialization;
        TableName = tableName;
        _xml = XmlWriter.Create(stream, new XmlWriterSettings { Async = true, Indent = false, Encoding = new UTF8Encoding(false), CloseOutput = false });
    }

    public string? TableName { get; }

    public async ValueTask WriteRowAsync(object?[] values, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_completed, this);
        if (values.Length != _columns.Length)
        {
            throw new ArgumentException($"Expected {_columns.Length} values, got {values.Length}.", nameof(values));
        }

        await StartAsync();
        if (_serialization == VoTableSerialization.TableData)
        {
            await _xml.WriteStartElementAsync(null, "TR", Ns);
            for (var i = 0; i < values.Length; i++)
            {
                await _xml.WriteElementStringAsync(null, "TD", Ns, Cell(_columns[i], values[i]));
            }

            await _xml.WriteEndElementAsync();
            return;
        }

        EncodeRow(values);
        if (_binary.Count >= Chunk)
        {
            await FlushBinaryAsync(final: false, cancellationToken);
        }
    }

    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_completed)
        {
            return;
        }

        await StartAsync();
        if (_serialization == VoTableSerialization.Binary2)
        {
            await FlushBinaryAsync(final: true, cancellationToken);
        }

        _completed = true;
        await _xml.WriteEndDocumentAsync();
        await _xml.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _xml.FlushAsync();
        _xml.Dispose();
    }

    private async Task StartAsync()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        await _xml.WriteStartDocumentAsync();
        await _xml.WriteStartElementAsync(null, "VOTABLE", Ns);
        await _xml.WriteAttributeStringAsync(null, "version", null, "1.4");
        await _xml.WriteStartElementAsync(null, "RESOURCE", Ns);
        await _xml.WriteAttributeStringAsync(null, "type", null, "results");
        await _xml.WriteStartElementAsync(null, "TABLE", Ns);
        if (TableName is not null)
        {
            await _xml.WriteAttributeStringAsync(null, "name", null, Clean(TableName));
        }

        foreach (var column in _columns)
        {
            await _xml.WriteStartElementAsync(null, "FIELD", Ns);
            await _xml.WriteAttributeStringAsync(null, "name", null, Clean(column.Name));
            await _xml.WriteAttributeStringAsync(null, "datatype", null, column.Type switch
            {
                VoTableType.Boolean => "boolean",
                VoTableType.UnsignedByte => "unsignedByte",
                VoTableType.Short => "short",
                VoTableType.Int => "int",
                VoTableType.Long => "long",
                VoTableType.Float => "float",
                VoTableType.Double => "double",
                VoTableType.Text => _serialization == VoTableSerialization.Binary2 ? "unicodeChar" : "char",
            });
            if (column.Type == VoTableType.Text)
            {
                await _xml.WriteAttributeStringAsync(null, "arraysize", null, "*");
            }

            if (column.Unit is not null)
            {
                await _xml.WriteAttributeStringAsync(null, "unit", null, Clean(column.Unit));
            }

            await _xml.WriteEndElementAsync();
        }

        await _xml.WriteStartElementAsync(null, "DATA", Ns);
        if (_serialization == VoTableSerialization.TableData)
        {
            await _xml.WriteStartElementAsync(null, "TABLEDATA", Ns);
        }
        else
        {
            await _xml.WriteStartElementAsync(null, "BINARY2", Ns);
            await _xml.WriteStartElementAsync(null, "STREAM", Ns);
            await _xml.WriteAttributeStringAsync(null, "encoding", null, "base64");
        }
    }

    private void EncodeRow(object?[] values)
    {
        var flags = new byte[(_columns.Length + 7) / 8];
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is null)
            {
                flags[i / 8] |= (byte)(0x80 >> (i % 8));
            }
        }

        _binary.AddRange(flags);
        Span<byte> cell = stackalloc byte[8];
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            switch (_columns[i].Type)
            {
                case VoTableType.Boolean:
                    _binary.Add(v is null ? (byte)'?' : Cast<bool>(i, v) ? (byte)'T' : (byte)'F');
                    break;
                case VoTableType.UnsignedByte:
                    _binary.Add(v is null ? (byte)0 : Cast<byte>(i, v));
                    break;
                case VoTableType.Short:
                    BinaryPrimitives.WriteInt16BigEndian(cell, v is null ? (short)0 : Cast<short>(i, v));
                    _binary.AddRange(cell[..2]);
                    break;
                case VoTableType.Int:
                    BinaryPrimitives.WriteInt32BigEndian(cell, v is null ? 0 : Cast<int>(i, v));
                    _binary.AddRange(cell[..4]);
                    break;
                case VoTableType.Long:
                    BinaryPrimitives.WriteInt64BigEndian(cell, v is null ? 0 : Cast<long>(i, v));
                    _binary.AddRange(cell[..8]);
                    break;
                case VoTableType.Float:
                    BinaryPrimitives.WriteSingleBigEndian(cell, v is null ? float.NaN : Cast<float>(i, v));
                    _binary.AddRange(cell[..4]);
                    break;
                case VoTableType.Double:
                    BinaryPrimitives.WriteDoubleBigEndian(cell, v is null ? double.NaN : Cast<double>(i, v));
                    _binary.AddRange(cell[..8]);
                    break;
                case VoTableType.Text:
                    var text = v is null ? "" : Cast<string>(i, v);
                    BinaryPrimitives.WriteInt32BigEndian(cell, text.Length);
                    _binary.AddRange(cell[..4]);
                    _binary.AddRange(Encoding.BigEndianUnicode.GetBytes(text));
                    break;
            }
        }
    }

    private async Task FlushBinaryAsync(bool final, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Whole groups of three bytes, so every chunk is complete base64 on its own.
        var count = final ? _binary.Count : _binary.Count / 3 * 3;
        if (count == 0)
        {
            return;
        }

        var bytes = new byte[count];
        _binary.CopyTo(0, bytes, 0, count);
        _binary.RemoveRange(0, count);
        await _xml.WriteStringAsync(Convert.ToBase64String(bytes));
    }

    private T Cast<T>(int column, object value) =>
        value is T typed ? typed : throw new ArgumentException($"Column '{_columns[column].Name}' holds {typeof(T).Name}, not {value.GetType().Name}.");

    private static string Cell(VoTableColumn column, object? value) => value switch
    {
        null => "",
        bool b => b ? "T" : "F",
        float f => float.IsNaN(f) ? "" : f.ToString("R", CultureInfo.InvariantCulture),
        double d => double.IsNaN(d) ? "" : d.ToString("R", CultureInfo.InvariantCulture),
        string s => Clean(s),
        IFormattable n when column.Type != VoTableType.Text => n.ToString(null, CultureInfo.InvariantCulture),
        _ => Clean(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    // XML 1.0 cannot carry most control characters, even escaped; they become U+FFFD.
    private static string Clean(string text)
    {
        if (text.All(XmlConvert.IsXmlChar) || !text.Any(c => !XmlConvert.IsXmlChar(c) && !char.IsSurrogate(c)))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(XmlConvert.IsXmlChar(c) || char.IsSurrogate(c) ? c : '\uFFFD');
        }

        return sb.ToString();
    }
}
