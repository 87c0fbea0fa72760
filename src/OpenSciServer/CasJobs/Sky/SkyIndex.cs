using System.Globalization;
using System.Text.RegularExpressions;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// A catalog table's sky index: the column <see cref="Column"/> holds the NESTED HEALPix index at <see cref="Order"/>
/// of (<see cref="Ra"/>, <see cref="Dec"/>) in degrees, and the table is stored ordered by it.
/// </summary>
/// <param name="Columns">All the table's columns, in order.</param>
public sealed record SkyIndex(string Table, string Ra, string Dec, string Column, int Order, IReadOnlyList<string> Columns);

/// <summary>
/// The sky-indexed tables of one catalog context. A table is sky-indexed when one of its BIGINT columns carries the
/// comment <see cref="SkyIndexMarker.Comment"/> writes; the platform writes it when it builds a catalog, and an admin
/// may write it (<c>COMMENT ON COLUMN</c>) into a DuckDB file of their own before registering it.
/// </summary>
public sealed class SkyCatalog
{
    private readonly Dictionary<string, SkyIndex> _tables;

    public SkyCatalog(IEnumerable<SkyIndex> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        _tables = new Dictionary<string, SkyIndex>(StringComparer.OrdinalIgnoreCase);
        foreach (var table in tables)
        {
            _tables.TryAdd(table.Table, table);
        }
    }

    /// <summary>No sky-indexed table (MyDB, or a catalog without ra/dec).</summary>
    public static SkyCatalog None { get; } = new([]);

    public IReadOnlyCollection<SkyIndex> Tables => _tables.Values;

    public SkyIndex? Find(string table) => _tables.GetValueOrDefault(table);
}

/// <summary>The column comment that marks a sky index, and its parsing.</summary>
public static partial class SkyIndexMarker
{
    /// <summary>The name the platform gives the index column (another if the source already has a column of that name).</summary>
    public const string DefaultColumn = "healpix";

    /// <summary>E.g. <c>HEALPix nested order 16 of (ra, dec)</c>.</summary>
    public static string Comment(int order, string ra, string dec) =>
        string.Create(CultureInfo.InvariantCulture, $"HEALPix nested order {order} of ({ra}, {dec})");

    /// <summary>The order and the ra and dec columns a comment names, or null when it is not a sky-index marker.</summary>
    public static (int Order, string Ra, string Dec)? Parse(string? comment)
    {
        if (comment is null)
        {
            return null;
        }

        var match = MarkerPattern().Match(comment);
        return match.Success && int.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out var order) && order is >= 0 and <= Astro.Healpix.MaxOrder
            ? (order, match.Groups[2].Value.Trim(), match.Groups[3].Value.Trim())
            : null;
    }

    [GeneratedRegex(@"^HEALPix nested order (\d{1,2}) of \(([^,()]+),([^,()]+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex MarkerPattern();
}
