using System.Text;
using System.Text.Json;
using OpenSciServer.Astro.Fits;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs;

/// <summary>Query results in the formats astronomers download: FITS binary tables (more to come: VOTable, Parquet).</summary>
public static class ResultFormats
{
    public const string FitsMediaType = "application/fits";

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
