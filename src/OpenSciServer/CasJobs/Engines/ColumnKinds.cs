using System.Globalization;
using System.Text.Json;
using OpenSciServer.Astro.Fits;
using OpenSciServer.Astro.VoTable;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>What a column's values are, once chosen for a file format that has fixed binary types.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "Each member names the .NET type a value has.")]
public enum ColumnKind
{
    Boolean,
    Byte,
    Int16,
    Int32,
    Int64,
    Single,
    Double,
    Text,
}

/// <summary>A column to write to a file: its name, kind, and unit where known.</summary>
public sealed record TableFileColumn(string Name, ColumnKind Kind, string? Unit = null);

/// <summary>
/// One mapping from DuckDB's column types (as DuckDB.NET names them: BigInt, Integer, ...) to the value
/// kinds FITS and VOTable can hold, used for quick-query files and for MyDB exports alike. Types the formats
/// cannot hold (unsigned 64-bit and 128-bit integers, dates, times, lists, ...) are written as text.
/// </summary>
public static class ColumnKinds
{
    public static ColumnKind Of(string engineType) => engineType switch
    {
        "BigInt" or "UInteger" => ColumnKind.Int64,
        "Integer" or "USmallInt" => ColumnKind.Int32,
        "SmallInt" or "TinyInt" => ColumnKind.Int16,
        "UTinyInt" => ColumnKind.Byte,
        "Double" or "Decimal" => ColumnKind.Double,
        "Float" => ColumnKind.Single,
        "Boolean" => ColumnKind.Boolean,
        _ => ColumnKind.Text,
    };

    /// <summary>The DuckDB SQL type that holds a kind exactly.</summary>
    public static string SqlType(ColumnKind kind) => kind switch
    {
        ColumnKind.Boolean => "BOOLEAN",
        ColumnKind.Byte => "UTINYINT",
        ColumnKind.Int16 => "SMALLINT",
        ColumnKind.Int32 => "INTEGER",
        ColumnKind.Int64 => "BIGINT",
        ColumnKind.Single => "FLOAT",
        ColumnKind.Double => "DOUBLE",
        ColumnKind.Text => "VARCHAR",
    };

    public static FitsColumnType FitsType(ColumnKind kind) => kind switch
    {
        ColumnKind.Boolean => FitsColumnType.Boolean,
        ColumnKind.Byte => FitsColumnType.Byte,
        ColumnKind.Int16 => FitsColumnType.Int16,
        ColumnKind.Int32 => FitsColumnType.Int32,
        ColumnKind.Int64 => FitsColumnType.Int64,
        ColumnKind.Single => FitsColumnType.Single,
        ColumnKind.Double => FitsColumnType.Double,
        ColumnKind.Text => FitsColumnType.String,
    };

    public static VoTableType VoTableType(ColumnKind kind) => kind switch
    {
        ColumnKind.Boolean => Astro.VoTable.VoTableType.Boolean,
        ColumnKind.Byte => Astro.VoTable.VoTableType.UnsignedByte,
        ColumnKind.Int16 => Astro.VoTable.VoTableType.Short,
        ColumnKind.Int32 => Astro.VoTable.VoTableType.Int,
        ColumnKind.Int64 => Astro.VoTable.VoTableType.Long,
        ColumnKind.Single => Astro.VoTable.VoTableType.Float,
        ColumnKind.Double => Astro.VoTable.VoTableType.Double,
        ColumnKind.Text => Astro.VoTable.VoTableType.Text,
    };

    /// <summary>A value as DuckDB returned it, as the .NET type of its kind (null stays null).</summary>
    public static object? FromEngine(object? value, ColumnKind kind) => value is null or DBNull ? null : kind switch
    {
        ColumnKind.Boolean => Convert.ToBoolean(value, CultureInfo.InvariantCulture),
        ColumnKind.Byte => Convert.ToByte(value, CultureInfo.InvariantCulture),
        ColumnKind.Int16 => Convert.ToInt16(value, CultureInfo.InvariantCulture),
        ColumnKind.Int32 => Convert.ToInt32(value, CultureInfo.InvariantCulture),
        ColumnKind.Int64 => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        ColumnKind.Single => Convert.ToSingle(value, CultureInfo.InvariantCulture),
        ColumnKind.Double => Convert.ToDouble(value, CultureInfo.InvariantCulture),
        ColumnKind.Text => Text(value),
    };

    /// <summary>A value of a quick-query result (JSON) as the .NET type of its kind.</summary>
    public static object? FromJson(JsonElement value, ColumnKind kind) => value.ValueKind == JsonValueKind.Null ? null : kind switch
    {
        ColumnKind.Boolean => value.GetBoolean(),
        ColumnKind.Byte => value.GetByte(),
        ColumnKind.Int16 => value.GetInt16(),
        ColumnKind.Int32 => value.GetInt32(),
        ColumnKind.Int64 => value.GetInt64(),
        ColumnKind.Single => value.GetSingle(),
        ColumnKind.Double => value.GetDouble(),
        ColumnKind.Text => value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(),
    };

    // Text as it is; anything else as JSON's rules write it (dates ISO 8601, BLOBs base64, nested values as JSON text).
    private static string Text(object value) => JsonValues.Text(JsonValues.Convert(value));
}
