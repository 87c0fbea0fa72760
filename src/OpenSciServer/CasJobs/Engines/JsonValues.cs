using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;
using DuckDB.NET.Native;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// DuckDB's values as the values of a JSON result, the same rules at every depth: numbers as numbers (NaN and infinities as
/// null, integers beyond 64 bits as text), text as text, dates and times as ISO 8601 text (an INTERVAL as an ISO 8601
/// duration, P1Y2M3DT4H5M6.5S), a UUID as its text, a BLOB as base64; a STRUCT or MAP as an object, a LIST or ARRAY as an
/// array. Files with fixed column types (CSV, FITS, VOTable) carry a nested value as its JSON text.
/// </summary>
public static class JsonValues
{
    /// <summary>The value of column <paramref name="i"/> of the current row, for JSON (null when NULL).</summary>
    public static object? Read(DuckDBDataReader reader, int i, string type)
    {
        ArgumentNullException.ThrowIfNull(reader);
        object value;
        try
        {
            if (reader.IsDBNull(i))
            {
                return null;
            }

            value = type switch
            {
                // DuckDB.NET reads these as .NET types that cannot hold every value (months, infinity, 38 digits): read them as DuckDB's.
                "Interval" => reader.GetFieldValue<DuckDBInterval>(i),
                "Date" when reader.GetFieldValue<DuckDBDateOnly>(i) is { IsInfinity: true } date => date.IsPositiveInfinity ? "infinity" : "-infinity",
                "Timestamp" or "TimestampS" or "TimestampMs" or "TimestampNs" or "TimestampTz" when reader.GetFieldValue<DuckDBTimestamp>(i) is { IsInfinity: true } t =>
                    t.IsPositiveInfinity ? "infinity" : "-infinity",
                "TimestampTz" => DateTime.SpecifyKind(reader.GetDateTime(i), DateTimeKind.Utc),
                "TimeTz" => ((DateTimeOffset)reader.GetValue(i)).ToString("HH:mm:ss.FFFFFFzzz", CultureInfo.InvariantCulture),
                "Decimal" => ReadDecimal(reader, i),
                "List" or "Array" or "Map" when HasNullableElements(reader.GetFieldType(i)) is { } nullable => ReadAs(reader, i, nullable),
                _ => reader.GetValue(i),
            };
        }
        catch (Exception e) when (e is InvalidCastException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw Unreadable(reader.GetName(i), type, e);
        }

        try
        {
            return Convert(value);
        }
        catch (Exception e) when (e is InvalidCastException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw Unreadable(reader.GetName(i), type, e);
        }
    }

    /// <summary>The type DuckDB.NET names a column by, or "Union" for the type it cannot read at all.</summary>
    public static string TypeName(DuckDBDataReader reader, int i)
    {
        ArgumentNullException.ThrowIfNull(reader);
        try
        {
            return reader.GetDataTypeName(i);
        }
        catch (ArgumentException)
        {
            return "Union";
        }
    }

    /// <summary>A value as DuckDB.NET returned it, for JSON: scalars as the rules say, nested values as dictionaries and lists of them.</summary>
    public static object? Convert(object? value) => value switch
    {
        null or DBNull => null,
        double d => double.IsFinite(d) ? d : null,
        float f => float.IsFinite(f) ? f : null,
        int or long or short or byte or sbyte or ushort or uint or bool or string or decimal => value,
        ulong u => u <= long.MaxValue ? (long)u : u.ToString(CultureInfo.InvariantCulture),
        BigInteger b => b >= long.MinValue && b <= long.MaxValue ? (long)b : b.ToString(CultureInfo.InvariantCulture),
        DateTime d => d.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeOnly t => t.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture),
        TimeSpan t => Duration(0, t.Days, t.Ticks % TimeSpan.TicksPerDay / 10),
        DuckDBInterval i => Duration(i.Months, i.Days, unchecked((long)i.Micros)),
        Guid g => g.ToString("D"),
        byte[] bytes => System.Convert.ToBase64String(bytes),
        Stream stream => System.Convert.ToBase64String(ReadAll(stream)),
        IDictionary dictionary => Object(dictionary),
        IEnumerable list => list.Cast<object?>().Select(Convert).ToList(),
        _ => System.Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    /// <summary>A value as text for a file's text column: text as it is, anything else (a number in a text column, a nested value) as its JSON.</summary>
    public static string Text(object? converted) => converted as string ?? JsonSerializer.Serialize(converted, QueryWorker.Json);

    private static Dictionary<string, object?> Object(IDictionary dictionary)
    {
        var result = new Dictionary<string, object?>(dictionary.Count, StringComparer.Ordinal);
        foreach (DictionaryEntry entry in dictionary)
        {
            // MAP keys can be any type; JSON names are text (as DuckDB's to_json writes them).
            result[Convert(entry.Key) is string s ? s : JsonSerializer.Serialize(Convert(entry.Key), QueryWorker.Json)] = Convert(entry.Value);
        }

        return result;
    }

    private static object ReadDecimal(DuckDBDataReader reader, int i)
    {
        try
        {
            var value = reader.GetDecimal(i);
            if (decimal.Abs(value) < 1e15m)
            {
                return value;
            }
        }
        catch (OverflowException)
        {
        }

        {
            // Maybe beyond .NET decimal's 28 digits (DECIMAL(38, s)): the exact digits, as a number while a decimal holds them, else as text.
            var d = reader.GetFieldValue<DuckDBDecimal>(i);
            var digits = BigInteger.Abs((new BigInteger(d.Value.Upper) << 64) + d.Value.Lower).ToString(CultureInfo.InvariantCulture).PadLeft(d.Scale + 1, '0');
            var sign = d.Value.Upper < 0 ? "-" : "";
            var text = d.Scale == 0 ? sign + digits : $"{sign}{digits[..^d.Scale]}.{digits[^d.Scale..]}";
            return digits.TrimStart('0').Length <= 28 ? decimal.Parse(text, CultureInfo.InvariantCulture) : text;
        }
    }

    // List<int> → List<int?> (and deeper: List<List<int>> → List<List<int?>>, Dictionary<string, int> → Dictionary<string, int?>); null when nothing changes.
    private static Type? HasNullableElements(Type type)
    {
        var nullable = Nullable(type);
        return nullable == type ? null : nullable;
    }

    private static Type Nullable(Type type)
    {
        if (type.IsValueType && System.Nullable.GetUnderlyingType(type) is null)
        {
            return typeof(Nullable<>).MakeGenericType(type);
        }

        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(List<>) || type.GetGenericTypeDefinition() == typeof(Dictionary<,>)))
        {
            var args = type.GetGenericArguments();
            args[^1] = Nullable(args[^1]);
            return type.GetGenericTypeDefinition().MakeGenericType(args);
        }

        return type;
    }

    // DuckDB.NET reads a list of numbers into a List<int>, which cannot hold a NULL element: it is read as a List<int?>.
    private static object ReadAs(DuckDBDataReader reader, int i, Type type) =>
        typeof(DuckDBDataReader).GetMethod(nameof(DuckDBDataReader.GetFieldValue))!.MakeGenericMethod(type)
            .Invoke(reader, System.Reflection.BindingFlags.DoNotWrapExceptions, null, [i], CultureInfo.InvariantCulture)!;

    /// <summary>An ISO 8601 duration: P1Y2M3DT4H5M6.5S; PT0S for none; a negative part keeps its sign (P-1D).</summary>
    private static string Duration(int months, int days, long micros)
    {
        var sb = new StringBuilder("P");
        if (months / 12 != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{months / 12}Y");
        }

        if (months % 12 != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{months % 12}M");
        }

        if (days != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{days}D");
        }

        if (micros != 0 || sb.Length == 1)
        {
            sb.Append('T');
            var hours = micros / 3_600_000_000;
            var minutes = micros % 3_600_000_000 / 60_000_000;
            var seconds = micros % 60_000_000 / 1e6m;
            if (hours != 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{hours}H");
            }

            if (minutes != 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{minutes}M");
            }

            if (seconds != 0 || (hours == 0 && minutes == 0))
            {
                sb.Append(seconds.ToString("0.######", CultureInfo.InvariantCulture)).Append('S');
            }
        }

        return sb.ToString();
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static WorkerRefusalException Unreadable(string column, string type, Exception e) =>
        new($"The column '{column}' ({type.ToUpperInvariant()}) holds a value the platform cannot return as it is ({e.Message.TrimEnd('.')}): " +
            $"select it as JSON (to_json({column})) or as text ({column}::VARCHAR).");
}
