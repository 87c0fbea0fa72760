using System.Text;
using System.Text.Json;
using OpenSciServer.Astro.Fits;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs;

/// <summary>Query results in the formats astronomers download: FITS binary tables (more to come: VOTable, Parquet).</summary>
public static class ResultFormats
{
    public const string FitsMediaType = "application/fits";
    public const string VoTableMediaType = "application/x-votable+xml";
    public const string CsvMediaType = "text/csv";

    /// <summary>
    /// The download format an Accept header asks for: "fits", "parquet" (application/vnd.apache.parquet or application/x-parquet),
    /// "votable-binary2" (a VOTable type with serialization=binary2), "votable", "csv", or null for JSON.
    /// </summary>
    public static string? FromAccept(string accept)
    {
        ArgumentNullException.ThrowIfNull(accept);
        return accept.Contains(FitsMediaType, StringComparison.OrdinalIgnoreCase) ? "fits"
            : accept.Contains("application/vnd.apache.parquet", StringComparison.OrdinalIgnoreCase) || accept.Contains("application/x-parquet", StringComparison.OrdinalIgnoreCase) ? "parquet"
            : accept.Contains("votable", StringComparison.OrdinalIgnoreCase) && accept.Contains("binary2", StringComparison.OrdinalIgnoreCase) ? "votable-binary2"
            : accept.Contains("votable", StringComparison.OrdinalIgnoreCase) ? "votable"
            : accept.Contains("text/plain", StringComparison.OrdinalIgnoreCase) || accept.Contains(CsvMediaType, StringComparison.OrdinalIgnoreCase) ? "csv"
            : null;
    }

    /// <summary>
    /// The first result set as a file in <paramref name="format"/> (fits, votable, csv), or null for JSON.
    /// A quick result is bounded by CasJobs:QuickQueryMaxRows, so it is built in memory and sent with its length.
    /// </summary>
    public static async Task<IResult?> FileResultAsync(QueryOutcome outcome, string? format, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (format is null or "json")
        {
            return null;
        }

        if (format == "csv")
        {
            return TypedResults.Text(outcome.ResultSets.Count == 0 ? "" : QueryService.ToCsv(outcome.ResultSets[0]), "text/plain; charset=utf-8");
        }

        if (outcome.ResultSets.Count == 0)
        {
            throw Infrastructure.PlatformException.Invalid("The query returned no result set to put in a file.", "query");
        }

        var buffer = new MemoryStream();
        switch (format)
        {
            case "fits":
                await WriteFitsAsync(outcome.ResultSets[0], buffer, ct);
                return TypedResults.File(buffer.ToArray(), FitsMediaType, "result.fits");
            case "votable":
                await WriteVoTableAsync(outcome.ResultSets[0], buffer, Astro.VoTable.VoTableSerialization.TableData, ct);
                return TypedResults.File(buffer.ToArray(), VoTableMediaType, "result.xml");
            case "votable-binary2":
                await WriteVoTableAsync(outcome.ResultSets[0], buffer, Astro.VoTable.VoTableSerialization.Binary2, ct);
                return TypedResults.File(buffer.ToArray(), VoTableMediaType, "result.xml");
            default:
                throw Infrastructure.PlatformException.Invalid($"Unknown format '{format}': use json, csv, fits, votable, votable-binary2 or parquet.", "format");
        }
    }

    /// <summary>
    /// Writes one result set as an IVOA VOTable 1.4, row by row: TABLEDATA (XML cells, NULL as an empty
    /// cell) or BINARY2 (base64, a null-flag bitmap per row).
    /// </summary>
    public static async Task WriteVoTableAsync(ResultSet set, Stream output, Astro.VoTable.VoTableSerialization serialization, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(set);
        var kinds = set.Columns.Select(c => ColumnKinds.Of(c.Type)).ToList();
        await using var writer = new Astro.VoTable.VoTableWriter(output,
            set.Columns.Select((c, i) => new Astro.VoTable.VoTableColumn(c.Name, ColumnKinds.VoTableType(kinds[i]))).ToList(), serialization);
        foreach (var row in set.Rows)
        {
            await writer.WriteRowAsync(row.Select((v, i) => ColumnKinds.FromJson(v, kinds[i])).ToArray(), ct);
        }

        await writer.CompleteAsync(ct);
    }

    /// <summary>Writes one result set as a FITS file with a BINTABLE extension, streaming.</summary>
    public static async Task WriteFitsAsync(ResultSet set, Stream output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(set);
        var columns = set.Columns.Select((c, i) => ToFitsColumn(c, set.Rows.Select(r => r[i]))).ToList();
        var writer = new FitsTableWriter(output, columns, set.Rows.Count, extensionName: "RESULT");
        foreach (var row in set.Rows)
        {
            await writer.WriteRowAsync(row.Select((v, i) => ToValue(v, columns[i].Type)).ToArray(), ct);
        }

        await writer.CompleteAsync(ct);
    }

    private static FitsColumn ToFitsColumn(WorkerColumn column, IEnumerable<JsonElement> values)
    {
        var name = Ascii(column.Name);
        var type = column.Type switch
        {
            "BigInt" or "UInteger" => FitsColumnType.Int64,
            "Integer" or "USmallInt" => FitsColumnType.Int32,
            "SmallInt" or "TinyInt" => FitsColumnType.Int16,
            "UTinyInt" => FitsColumnType.Byte,
            "Double" or "Decimal" => FitsColumnType.Double,
            "Float" => FitsColumnType.Single,
            "Boolean" => FitsColumnType.Boolean,
            _ => FitsColumnType.String,
        };
        var width = type == FitsColumnType.String
            ? Math.Max(1, values.Where(v => v.ValueKind != JsonValueKind.Null).Select(v => Ascii(Text(v)).Length).DefaultIfEmpty(1).Max())
            : 0;
        return new FitsColumn(name, type, StringWidth: width);
    }

    private static object? ToValue(JsonElement value, FitsColumnType type) => value.ValueKind == JsonValueKind.Null ? null : type switch
    {
        FitsColumnType.Int64 => value.GetInt64(),
        FitsColumnType.Int32 => value.GetInt32(),
        FitsColumnType.Int16 => value.GetInt16(),
        FitsColumnType.Byte => value.GetByte(),
        FitsColumnType.Double => value.GetDouble(),
        FitsColumnType.Single => value.GetSingle(),
        FitsColumnType.Boolean => value.GetBoolean(),
        FitsColumnType.String => Ascii(Text(value)),
    };

    private static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    // FITS text is ASCII; anything else is replaced rather than refused, so a download never fails on a name.
    private static string Ascii(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return sb.ToString();
    }
}
