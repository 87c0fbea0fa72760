using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace OpenSciServer.Astro.Fits;

/// <summary>One column of a FITS binary table as read: the .NET type its values come back as.</summary>
/// <param name="Name">TTYPE (or COLn when the header names none).</param>
/// <param name="ValueType">
/// long, int, short, byte, sbyte (B with TZERO -128), ushort (I with TZERO 32768), uint (J with TZERO 2^31),
/// ulong (K with TZERO 2^63), double (D, or any integer column with another TSCAL/TZERO), float (E), bool (L) or string (nA).
/// </param>
/// <param name="Unit">TUNIT, or null.</param>
/// <param name="StringWidth">Bytes per value of a string column, otherwise 0.</param>
public sealed record FitsReadColumn(string Name, Type ValueType, string? Unit, int StringWidth);

/// <summary>
/// Reads the first binary table (BINTABLE) of a FITS file row by row, the counterpart of <see cref="FitsTableWriter"/>.
/// Scalar columns of types L, B, I, J, K, E, D and character columns nA are read; integer TNULL values, NaN floats,
/// the FITS null byte of logical columns and text starting with NUL come back as null; TSCAL/TZERO are applied (the standard offsets for unsigned
/// and signed-byte integers give the matching .NET type, any other scaling gives double); TUNIT is kept.
/// Anything else (arrays, variable-length columns, bits, complex numbers) is refused with a message naming the column.
/// </summary>
/// <remarks>Malformed input raises <see cref="InvalidDataException"/>, never reads past what the header declares.</remarks>
public sealed class FitsTableReader
{
    private const int BlockSize = 2880;
    private const int CardSize = 80;
    private const int MaxHeaderBlocks = 10_000;

    private readonly Stream _stream;
    private readonly Field[] _fields;
    private readonly int _rowWidth;
    private readonly byte[] _buffer;
    private long _read;

    private FitsTableReader(Stream stream, Field[] fields, int rowWidth, long rows, string? extensionName)
    {
        _stream = stream;
        _fields = fields;
        _rowWidth = rowWidth;
        RowCount = rows;
        ExtensionName = extensionName;
        Columns = fields.Select(f => f.Column).ToList();
        _buffer = new byte[Math.Max(1, rowWidth)];
    }

    public IReadOnlyList<FitsReadColumn> Columns { get; }

    /// <summary>NAXIS2: the rows the table holds.</summary>
    public long RowCount { get; }

    public string? ExtensionName { get; }

    /// <summary>Reads headers up to the first BINTABLE extension; the stream is then at its first row.</summary>
    /// <exception cref="InvalidDataException">Not a FITS file, no binary table, or a column type that is not supported.</exception>
    public static FitsTableReader Open(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var primary = ReadHeader(stream, first: true);
        if (!primary.TryGetValue("SIMPLE", out var simple) || simple != "T")
        {
            throw new InvalidDataException("This is not a FITS file: it does not start with SIMPLE = T.");
        }

        Skip(stream, DataBytes(primary));
        for (var hdu = 1; ; hdu++)
        {
            Dictionary<string, string> header;
            try
            {
                header = ReadHeader(stream, first: false);
            }
            catch (EndOfStreamException)
            {
                throw new InvalidDataException("The FITS file holds no binary table (BINTABLE) extension.");
            }

            if (header.TryGetValue("XTENSION", out var kind) && kind.TrimEnd() == "BINTABLE")
            {
                return FromHeader(stream, header);
            }

            Skip(stream, DataBytes(header));
        }
    }

    /// <summary>Reads the next row into <paramref name="values"/> (one slot per column); false after the last row.</summary>
    public bool ReadRow(object?[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != _fields.Length)
        {
            throw new ArgumentException($"Expected room for {_fields.Length} values, got {values.Length}.", nameof(values));
        }

        if (_read >= RowCount)
        {
            return false;
        }

        var row = _buffer.AsSpan(0, _rowWidth);
        try
        {
            _stream.ReadExactly(row);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"The FITS table ends after {_read:N0} of the {RowCount:N0} rows its header declares.");
        }

        for (var i = 0; i < _fields.Length; i++)
        {
            var f = _fields[i];
            values[i] = Decode(f, row.Slice(f.Offset, f.Width));
        }

        _read++;
        return true;
    }

    private static FitsTableReader FromHeader(Stream stream, Dictionary<string, string> h)
    {
        var rowWidth = Integer(h, "NAXIS1");
        var rows = Integer(h, "NAXIS2");
        var count = Integer(h, "TFIELDS");
        if (rowWidth is < 0 or > 100_000_000 || rows < 0 || count is < 0 or > 999)
        {
            throw new InvalidDataException("The binary table's header has an impossible NAXIS1, NAXIS2 or TFIELDS.");
        }

        var fields = new Field[count];
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            var n = (i + 1).ToString(CultureInfo.InvariantCulture);
            var name = h.TryGetValue("TTYPE" + n, out var t) && t.Trim().Length > 0 ? t.Trim() : "COL" + n;
            var form = h.TryGetValue("TFORM" + n, out var tf) ? tf.Trim() : throw new InvalidDataException($"Column {n} has no TFORM.");
            var unit = h.TryGetValue("TUNIT" + n, out var u) && u.Trim().Length > 0 ? u.Trim() : null;
            long? tnull = h.TryGetValue("TNULL" + n, out var tn) ? ParseLong(tn, "TNULL" + n) : null;
            var scale = h.TryGetValue("TSCAL" + n, out var ts) ? ParseDecimal(ts, "TSCAL" + n) : 1m;
            var zero = h.TryGetValue("TZERO" + n, out var tz) ? ParseDecimal(tz, "TZERO" + n) : 0m;
            var field = MakeField(name, form, unit, tnull, scale, zero, offset);
            fields[i] = field;
            offset += field.Width;
        }

        if (offset != rowWidth)
        {
            throw new InvalidDataException($"The columns take {offset} bytes per row but NAXIS1 says {rowWidth}.");
        }

        return new FitsTableReader(stream, fields, (int)rowWidth, rows, h.TryGetValue("EXTNAME", out var ext) ? ext.Trim() : null);
    }

    private static Field MakeField(string name, string form, string? unit, long? tnull, decimal scale, decimal zero, int offset)
    {
        var digits = 0;
        while (digits < form.Length && char.IsAsciiDigit(form[digits]))
        {
            digits++;
        }

        var repeat = digits == 0 ? 1 : int.Parse(form.AsSpan(0, digits), CultureInfo.InvariantCulture);
        var code = digits < form.Length ? form[digits] : ' ';
        if (code == 'A')
        {
            return new Field(new FitsReadColumn(name, typeof(string), unit, repeat), code, offset, repeat, null, 1m, 0m);
        }

        if (repeat != 1)
        {
            throw new InvalidDataException($"Column '{name}' holds arrays (TFORM {form}); only scalar columns and text can be imported.");
        }

        var width = code switch
        {
            'L' or 'B' => 1,
            'I' => 2,
            'J' or 'E' => 4,
            'K' or 'D' => 8,
            _ => throw new InvalidDataException($"Column '{name}' has TFORM {form}, which cannot be imported (supported: L, B, I, J, K, E, D and nA)."),
        };
        Type type;
        if (code is 'E' or 'D' or 'L')
        {
            type = code == 'E' ? typeof(float) : code == 'D' ? typeof(double) : typeof(bool);
            if (scale != 1m || zero != 0m)
            {
                type = typeof(double);
            }
        }
        else if (scale == 1m && zero == 0m)
        {
            type = code switch { 'B' => typeof(byte), 'I' => typeof(short), 'J' => typeof(int), _ => typeof(long) };
        }
        else if (scale == 1m && (code, zero) is ('B', -128m) or ('I', 32768m) or ('J', 2147483648m) or ('K', 9223372036854775808m))
        {
            type = code switch { 'B' => typeof(sbyte), 'I' => typeof(ushort), 'J' => typeof(uint), _ => typeof(ulong) };
        }
        else
        {
            type = typeof(double);
        }

        return new Field(new FitsReadColumn(name, type, unit, 0), code, offset, width, tnull, scale, zero);
    }

    private static object? Decode(Field f, ReadOnlySpan<byte> cell)
    {
        switch (f.Code)
        {
            case 'A':
                // A value whose first byte is NUL is a null string (FITS 4.0, 7.3.3.1).
                if (cell.Length == 0 || cell[0] == 0)
                {
                    return null;
                }

                var end = cell.IndexOf((byte)0);
                return Encoding.Latin1.GetString(end < 0 ? cell : cell[..end]).TrimEnd(' ');
            case 'L':
                return cell[0] switch { (byte)'T' => Scaled(f, 1), (byte)'F' => Scaled(f, 0), _ => null };
            case 'E':
                var e = BinaryPrimitives.ReadSingleBigEndian(cell);
                return float.IsNaN(e) ? null : f.Column.ValueType == typeof(float) ? (object)e : (object)((e * (double)f.Scale) + (double)f.Zero);
            case 'D':
                var d = BinaryPrimitives.ReadDoubleBigEndian(cell);
                return double.IsNaN(d) ? null : f.Scale == 1m && f.Zero == 0m ? d : (d * (double)f.Scale) + (double)f.Zero;
        }

        long raw = f.Code switch
        {
            'B' => cell[0],
            'I' => BinaryPrimitives.ReadInt16BigEndian(cell),
            'J' => BinaryPrimitives.ReadInt32BigEndian(cell),
            _ => BinaryPrimitives.ReadInt64BigEndian(cell),
        };
        if (raw == f.Null)
        {
            return null;
        }

        // Each branch boxes its own type (a ?: chain would widen them all to double).
        var type = f.Column.ValueType;
        return type == typeof(byte) ? (object)(byte)raw
            : type == typeof(short) ? (object)(short)raw
            : type == typeof(int) ? (object)(int)raw
            : type == typeof(long) ? (object)raw
            : type == typeof(sbyte) ? (object)(sbyte)(raw - 128)
            : type == typeof(ushort) ? (object)(ushort)(raw + 32768)
            : type == typeof(uint) ? (object)(uint)(raw + 2147483648L)
            : type == typeof(ulong) ? (object)((ulong)raw ^ 0x8000_0000_0000_0000UL)
            : (object)(double)((raw * f.Scale) + f.Zero);
    }

    private static object Scaled(Field f, long value) => f.Column.ValueType == typeof(bool) ? value == 1 : (double)((value * f.Scale) + f.Zero);

    private static Dictionary<string, string> ReadHeader(Stream stream, bool first)
    {
        var cards = new Dictionary<string, string>(StringComparer.Ordinal);
        var block = new byte[BlockSize];
        for (var b = 0; b < MaxHeaderBlocks; b++)
        {
            var got = stream.ReadAtLeast(block, BlockSize, throwOnEndOfStream: false);
            if (got < BlockSize)
            {
                if (first || got > 0)
                {
                    throw new InvalidDataException("The FITS file ends inside a header.");
                }

                throw new EndOfStreamException();
            }

            for (var c = 0; c < BlockSize / CardSize; c++)
            {
                var card = Encoding.ASCII.GetString(block, c * CardSize, CardSize);
                var key = card[..8].TrimEnd();
                if (key == "END")
                {
                    return cards;
                }

                if (card.Length > 9 && card[8] == '=' && key.Length > 0)
                {
                    cards.TryAdd(key, Value(card[10..]));
                }
            }
        }

        throw new InvalidDataException("A FITS header has no END card.");
    }

    // A card's value: a quoted string ('' is a quote), or the text before a '/' comment.
    private static string Value(string text)
    {
        var s = text.TrimStart();
        if (s.StartsWith('\''))
        {
            var sb = new StringBuilder();
            for (var i = 1; i < s.Length; i++)
            {
                if (s[i] == '\'')
                {
                    if (i + 1 < s.Length && s[i + 1] == '\'')
                    {
                        sb.Append('\'');
                        i++;
                        continue;
                    }

                    break;
                }

                sb.Append(s[i]);
            }

            return sb.ToString().TrimEnd();
        }

        var slash = s.IndexOf('/', StringComparison.Ordinal);
        return (slash < 0 ? s : s[..slash]).Trim();
    }

    private static long DataBytes(Dictionary<string, string> header)
    {
        var naxis = header.TryGetValue("NAXIS", out _) ? Integer(header, "NAXIS") : 0;
        if (naxis == 0)
        {
            return 0;
        }

        var bitpix = Math.Abs(Integer(header, "BITPIX"));
        BigInteger count = 1;
        for (var i = 1; i <= naxis; i++)
        {
            count *= Integer(header, "NAXIS" + i.ToString(CultureInfo.InvariantCulture));
        }

        var gcount = header.ContainsKey("GCOUNT") ? Integer(header, "GCOUNT") : 1;
        var pcount = header.ContainsKey("PCOUNT") ? Integer(header, "PCOUNT") : 0;
        var bytes = bitpix / 8 * gcount * (pcount + count);
        return bytes > long.MaxValue / 2 ? throw new InvalidDataException("A FITS header declares an impossible data size.") : (long)bytes;
    }

    private static void Skip(Stream stream, long dataBytes)
    {
        var padded = (dataBytes + BlockSize - 1) / BlockSize * BlockSize;
        if (stream.CanSeek)
        {
            stream.Seek(padded, SeekOrigin.Current);
            return;
        }

        var buffer = new byte[BlockSize];
        for (long left = padded; left > 0; left -= BlockSize)
        {
            stream.ReadExactly(buffer);
        }
    }

    private static long Integer(Dictionary<string, string> header, string key) =>
        header.TryGetValue(key, out var value) ? ParseLong(value, key) : throw new InvalidDataException($"The FITS header has no {key}.");

    private static long ParseLong(string value, string key) =>
        long.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
        : throw new InvalidDataException($"{key} = '{value}' is not an integer.");

    private static decimal ParseDecimal(string value, string key) =>
        decimal.TryParse(value.Trim().Replace('D', 'E').Replace('d', 'e'), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n
        : throw new InvalidDataException($"{key} = '{value}' is not a number.");

    private sealed record Field(FitsReadColumn Column, char Code, int Offset, int Width, long? Null, decimal Scale, decimal Zero);
}
