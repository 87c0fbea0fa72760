using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs;

/// <summary>A parsed CSV upload: column names and types (BIGINT, DOUBLE or VARCHAR, inferred) and the values.</summary>
public sealed record CsvTableData(IReadOnlyList<string> Columns, IReadOnlyList<string> Types, IReadOnlyList<object?[]> Rows);

/// <summary>
/// Reads a CSV with a header row (RFC 4180 quoting), refusing ragged rows with their line number, and
/// infers each column's type. The platform parses; the worker only receives values, so no file path
/// ever reaches the query engine.
/// </summary>
public static partial class CsvTable
{
    public const int MaxBytes = 100 * 1024 * 1024;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex SafeName();

    /// <summary>Checks a table name given by a client (it becomes an SQL identifier).</summary>
    public static string CheckTableName(string? name) =>
        name is not null && SafeName().IsMatch(name) ? name
        : throw PlatformException.Invalid($"'{name}' is not a valid table name: a letter or '_', then letters, digits or '_', at most 128.", "tableName");

    public static CsvTableData Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<(int Line, List<string> Fields)> records;
        try
        {
            records = Records(text).ToList();
        }
        catch (InvalidDataException e)
        {
            throw PlatformException.Invalid(e.Message, "csv");
        }

        if (records.Count == 0 || records[0].Fields.Count == 0 || records[0].Fields.All(string.IsNullOrWhiteSpace))
        {
            throw PlatformException.Invalid("The CSV is empty: the first line must name the columns.", "csv");
        }

        var header = Header(records[0].Fields)
            ?? throw PlatformException.Invalid("Every column needs a distinct, non-empty name in the header line.", "csv");

        var rows = new List<string?[]>();
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Count == 1 && fields[0].Length == 0)
            {
                continue; // a blank line
            }

            if (fields.Count != header.Count)
            {
                throw PlatformException.Invalid($"Line {line} has {fields.Count} values, but the header names {header.Count} columns.", "csv");
            }

            rows.Add(fields.Select(f => f.Length == 0 ? null : f).ToArray());
        }

        var types = Enumerable.Range(0, header.Count).Select(c => Infer(rows.Select(r => r[c]))).ToList();
        var values = rows.Select(r => r.Select((v, c) => Convert(v, types[c])).ToArray()).ToList();
        return new CsvTableData(header, types, values);
    }

    /// <summary>The trimmed column names of a header line, or null unless they are distinct, non-empty and printable.</summary>
    internal static List<string>? Header(IReadOnlyList<string> fields)
    {
        var header = fields.Select(h => h.Trim()).ToList();
        return header.Any(h => h.Length == 0 || h.Any(char.IsControl)) || header.Distinct(StringComparer.OrdinalIgnoreCase).Count() != header.Count
            ? null : header;
    }

    private static string Infer(IEnumerable<string?> values) => values.Aggregate("BIGINT", Widen);

    /// <summary>The narrowest of BIGINT, DOUBLE and VARCHAR that holds both <paramref name="type"/> and <paramref name="value"/> (null fits all).</summary>
    internal static string Widen(string type, string? value)
    {
        if (value is null)
        {
            return type;
        }

        if (type == "BIGINT" && !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            type = "DOUBLE";
        }

        return type == "DOUBLE" && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? "VARCHAR" : type;
    }

    internal static object? Convert(string? value, string type) => value is null ? null : type switch
    {
        "BIGINT" => long.Parse(value, CultureInfo.InvariantCulture),
        "DOUBLE" => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => value,
    };

    private static IEnumerable<(int Line, List<string> Fields)> Records(string text) => CsvRecords.Read(new StringReader(text));
}
