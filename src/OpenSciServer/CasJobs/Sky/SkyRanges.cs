using System.Globalization;
using System.Text;
using OpenSciServer.Astro;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// The HEALPix index ranges that cover a cone, as SQL DuckDB prunes row groups with. DuckDB's zone maps skip a row
/// group for a filter <c>x &gt;= a</c>, <c>x &lt;= b</c> or an OR of such single comparisons, but not for an OR of
/// ranges (<c>x BETWEEN a AND b OR x BETWEEN c AND d</c> scans everything). So a union of sorted ranges
/// [a1, b1] ∪ … ∪ [an, bn] is written as its equivalent conjunction
/// <c>x &gt;= a1 AND x &lt;= bn AND (x &lt;= b1 OR x &gt;= a2) AND …</c>: one term per gap, each of which DuckDB
/// checks against a row group's minimum and maximum, so a row group is skipped exactly when it lies in a gap.
/// </summary>
public static class SkyRanges
{
    /// <summary>At most this many ranges (so this many terms); more are merged by taking a coarser order.</summary>
    public const int MaxRanges = 16;

    /// <summary>
    /// Ranges at <paramref name="order"/> holding the index of every point within <paramref name="radiusDeg"/> of the centre
    /// (and some more): the disc is covered at an order whose pixels are not much smaller than the radius, then coarsened
    /// until there are at most <see cref="MaxRanges"/> ranges, and the ranges are expressed at <paramref name="order"/>.
    /// The radius is widened by a hair (1e-9 relative plus 1e-9°) so rounding never loses a point on the edge.
    /// </summary>
    public static IReadOnlyList<PixelRange> Cover(int order, double raDeg, double decDeg, double radiusDeg)
    {
        var radius = (radiusDeg * (1 + 1e-9)) + 1e-9;
        var coarse = order;
        // Pixels about a quarter of the radius: a handful of ranges, yet close to the disc.
        while (coarse > 0 && Healpix.MaxPixelRadiusDeg(coarse) < radius / 4)
        {
            coarse--;
        }

        var ranges = Healpix.QueryDisc(coarse, raDeg, decDeg, radius);
        while (ranges.Count > MaxRanges && coarse > 0)
        {
            coarse--;
            ranges = Healpix.QueryDisc(coarse, raDeg, decDeg, radius);
        }

        var shift = 2 * (order - coarse);
        var result = new List<PixelRange>(ranges.Count);
        foreach (var range in ranges)
        {
            var start = range.Start << shift;
            var end = ((range.End + 1) << shift) - 1;
            if (result.Count > 0 && result[^1].End + 1 == start)
            {
                result[^1] = result[^1] with { End = end };
            }
            else
            {
                result.Add(new PixelRange(start, end));
            }
        }

        return result;
    }

    /// <summary>The pruning predicate on <paramref name="column"/> (already quoted and qualified) for sorted, disjoint ranges.</summary>
    public static string Predicate(string column, IReadOnlyList<PixelRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        if (ranges.Count == 0)
        {
            return "false";
        }

        var sql = new StringBuilder();
        sql.Append(CultureInfo.InvariantCulture, $"{column} >= {ranges[0].Start} AND {column} <= {ranges[^1].End}");
        for (var i = 0; i + 1 < ranges.Count; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND ({column} <= {ranges[i].End} OR {column} >= {ranges[i + 1].Start})");
        }

        return sql.ToString();
    }
}
