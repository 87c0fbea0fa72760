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
        var records = Records(text).ToList();
        if (records.Count == 0 || records[0].Fields.Count == 0 || records[0].Fields.All(string.IsNullOrWhiteSpace))
        {
            throw PlatformException.Invalid("The CSV is empty: the first line must name the columns.", "csv");
        }

        var header = records[0].Fields.Select(h => h.Trim()).ToList();
        if (header.Any(h => h.Length == 0 || h.Any(char.IsControl)) || header.Distinct(StringComparer.OrdinalIgnoreCase).Count() != header.Count)
        {
            throw PlatformException.Invalid("Every column needs a distinct, non-empty name in the header line.", "csv");
        }

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

    private static string Infer(IEnumerable<string?> values)
    {
        var type = "BIGINT";
        foreach (var v in values)
        {
            if (v is null)
            {
                continue;
            }

            if (type == "BIGINT" && !long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            {
                type = "DOUBLE";
            }

            if (type == "DOUBLE" && !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                return "VARCHAR";
            }
        }

        return type;
    }

    private static object? Convert(string? value, string type) => value is null ? null : type switch
    {
        "BIGINT" => long.Parse(value, CultureInfo.InvariantCulture),
        "DOUBLE" => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => value,
    };

    private static IEnumerable<(int Line, List<string> Fields)> Records(string text)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var line = 1;
        var start = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }

                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                fields.Add(field.ToString());
                field.Clear();
                yield return (start, fields);
                fields = [];
                line++;
                start = line;
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw PlatformException.Invalid($"A quoted value that starts on line {start} is never closed.", "csv");
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            yield return (start, fields);
        }
    }
}
