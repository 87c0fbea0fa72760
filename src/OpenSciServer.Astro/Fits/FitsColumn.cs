using System.Diagnostics.CodeAnalysis;

namespace OpenSciServer.Astro.Fits;

/// <summary>Value types a FITS binary table column can hold (TFORM K, J, I, B, D, E, L and nA).</summary>
[SuppressMessage("Naming", "CA1720", Justification = "Each member names the .NET type a row value must have.")]
public enum FitsColumnType
{
    Int64,
    Int32,
    Int16,
    Byte,
    Double,
    Single,
    Boolean,
    String,
}

/// <summary>One column of a FITS binary table.</summary>
/// <param name="Name">TTYPE: printable ASCII, at most 68 characters.</param>
/// <param name="Type">Stored type; a row value must be of the matching .NET type (long, int, short, byte, double, float, bool, string) or null.</param>
/// <param name="Unit">TUNIT, e.g. "deg" or "mag"; null for none.</param>
/// <param name="StringWidth">Bytes per value of a <see cref="FitsColumnType.String"/> column (TFORM nA); longer strings are refused.</param>
/// <param name="Nullable">
/// Integer columns: whether a TNULL sentinel is declared (the type's minimum value, 255 for bytes), which the column then
/// cannot hold as a real value. Floating point nulls are always NaN, boolean nulls the FITS null byte, string nulls empty.
/// </param>
public sealed record FitsColumn(string Name, FitsColumnType Type, string? Unit = null, int StringWidth = 0, bool Nullable = true)
{
    internal int Width => Type switch
    {
        FitsColumnType.Int64 or FitsColumnType.Double => 8,
        FitsColumnType.Int32 or FitsColumnType.Single => 4,
        FitsColumnType.Int16 => 2,
        FitsColumnType.Byte or FitsColumnType.Boolean => 1,
        FitsColumnType.String => StringWidth,
    };

    internal string Form => Type switch
    {
        FitsColumnType.Int64 => "K",
        FitsColumnType.Int32 => "J",
        FitsColumnType.Int16 => "I",
        FitsColumnType.Byte => "B",
        FitsColumnType.Double => "D",
        FitsColumnType.Single => "E",
        FitsColumnType.Boolean => "L",
        FitsColumnType.String => StringWidth + "A",
    };

    /// <summary>The TNULL sentinel of a nullable integer column, otherwise null.</summary>
    internal long? NullValue => !Nullable ? null : Type switch
    {
        FitsColumnType.Int64 => long.MinValue,
        FitsColumnType.Int32 => int.MinValue,
        FitsColumnType.Int16 => short.MinValue,
        FitsColumnType.Byte => byte.MaxValue,
        FitsColumnType.Double or FitsColumnType.Single or FitsColumnType.Boolean or FitsColumnType.String => null,
    };
}
