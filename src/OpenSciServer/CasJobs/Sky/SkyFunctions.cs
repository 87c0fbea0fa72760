using System.Text;
using DuckDB.NET.Data;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// The sky functions of the query language, defined as DuckDB macros once per database instance in a small in-memory
/// catalog, <see cref="Catalog"/>, last on every session's search path (so a warm worker's next session finds them
/// without defining them again, which cost most of a quick query's time): angular distance, cone, crossmatch and SkyServer's
/// fGetNearbyObjEq. The macros are exact on their own and work on any table with ra and dec; on a catalog's sky-indexed
/// tables the translator adds the index ranges (<see cref="SkyRewriter"/>) so DuckDB reads only the row groups near a cone.
/// The same names are meant to map onto q3c in the PostgreSQL engine (docs/decisions/0013-sky-functions.md).
/// </summary>
public static class SkyFunctions
{
    /// <summary>The in-memory catalog the macros live in (attached by <see cref="DuckDbSandbox"/>).</summary>
    public const string Catalog = "oss_sky";

    /// <summary>Largest cone radius, degrees (the whole sky).</summary>
    public const double MaxConeRadiusDeg = 180;

    /// <summary>Largest crossmatch radius, arcseconds: beyond a degree a crossmatch is a different question (and a huge join).</summary>
    public const double MaxMatchRadiusArcsec = 3600;

    private const string MaxCone = "180";

    private const string MaxConeArcmin = "10800";

    private const string MaxMatch = "3600";

    /// <summary>Slack on the declination band, degrees (3.6 µas): the band only pre-selects, the distance test decides.</summary>
    private const string Band = "1e-9";

    private static readonly string General = $"""
        CREATE OR REPLACE MACRO {Catalog}.main.angdist(ra1, dec1, ra2, dec2) AS
            degrees(2 * asin(least(1.0, sqrt(power(sin(radians(CAST(dec2 AS DOUBLE) - CAST(dec1 AS DOUBLE)) / 2), 2)
                + cos(radians(CAST(dec1 AS DOUBLE))) * cos(radians(CAST(dec2 AS DOUBLE))) * power(sin(radians(CAST(ra2 AS DOUBLE) - CAST(ra1 AS DOUBLE)) / 2), 2)))));
        CREATE OR REPLACE MACRO {Catalog}.main.angdist_arcsec(ra1, dec1, ra2, dec2) AS angdist(ra1, dec1, ra2, dec2) * 3600;
        CREATE OR REPLACE MACRO {Catalog}.main.cone(ra1, dec1, ra0, dec0, radius_deg) AS
            CASE WHEN NOT (CAST(radius_deg AS DOUBLE) BETWEEN 0 AND {MaxCone}) THEN error('cone: the radius must be between 0 and {MaxCone} degrees; got ' || radius_deg)
                 WHEN NOT (CAST(dec0 AS DOUBLE) BETWEEN -90 AND 90) THEN error('cone: the centre''s declination must be between -90 and 90 degrees; got ' || dec0)
                 ELSE CAST(dec1 AS DOUBLE) BETWEEN CAST(dec0 AS DOUBLE) - radius_deg - {Band} AND CAST(dec0 AS DOUBLE) + radius_deg + {Band}
                      AND angdist(ra1, dec1, ra0, dec0) <= CAST(radius_deg AS DOUBLE) END;
        CREATE OR REPLACE MACRO {Catalog}.main.xmatch(ra1, dec1, ra2, dec2, radius_arcsec) AS
            CASE WHEN NOT (CAST(radius_arcsec AS DOUBLE) BETWEEN 0 AND {MaxMatch}) THEN error('xmatch: the radius must be between 0 and {MaxMatch} arcsec; got ' || radius_arcsec)
                 ELSE CAST(dec2 AS DOUBLE) BETWEEN CAST(dec1 AS DOUBLE) - radius_arcsec / 3600 - {Band} AND CAST(dec1 AS DOUBLE) + radius_arcsec / 3600 + {Band}
                      AND angdist(ra1, dec1, ra2, dec2) * 3600 <= CAST(radius_arcsec AS DOUBLE) END;
        CREATE OR REPLACE MACRO {Catalog}.main.sky_zone_height(radius_arcsec) AS greatest(CAST(radius_arcsec AS DOUBLE) / 3600, 1e-7);
        CREATE OR REPLACE MACRO {Catalog}.main.sky_zone(dec1, radius_arcsec) AS CAST(floor((CAST(dec1 AS DOUBLE) + 90) / sky_zone_height(radius_arcsec)) AS BIGINT);
        CREATE OR REPLACE MACRO {Catalog}.main.sky_zone_dmax(zone, radius_arcsec) AS
            least(90, greatest(abs(zone * sky_zone_height(radius_arcsec) - 90), abs((zone + 1) * sky_zone_height(radius_arcsec) - 90)) + CAST(radius_arcsec AS DOUBLE) / 3600);
        CREATE OR REPLACE MACRO {Catalog}.main.sky_zone_cells(zone, radius_arcsec) AS
            CASE WHEN sky_zone_dmax(zone, radius_arcsec) >= 89.999 THEN 1
                 ELSE greatest(1, CAST(floor(360 / greatest(2 * degrees(asin(least(1, sin(radians(CAST(radius_arcsec AS DOUBLE) / 3600) / 2)
                                                                   / cos(radians(sky_zone_dmax(zone, radius_arcsec)))))) * (1 + 1e-9) + 1e-12, 1e-9)) AS BIGINT)) END;
        CREATE OR REPLACE MACRO {Catalog}.main.sky_cell(ra1, cells) AS CAST(floor((((CAST(ra1 AS DOUBLE) % 360) + 360) % 360) / 360 * cells) AS BIGINT) % cells;
        CREATE OR REPLACE MACRO {Catalog}.main.xmatch(table1, table2, radius_arcsec) AS TABLE
            WITH a0 AS (SELECT a AS t1, a.ra AS ra, a.dec AS dec, sky_zone(a.dec, radius_arcsec) + z AS zone FROM query_table(table1) a, (VALUES (-1), (0), (1)) v(z)),
                 a1 AS (SELECT a0.*, sky_zone_cells(zone, radius_arcsec) AS cells FROM a0),
                 za AS (SELECT t1, ra, dec, zone, unnest(list_distinct([(sky_cell(ra, cells) + cells - 1) % cells, sky_cell(ra, cells), (sky_cell(ra, cells) + 1) % cells])) AS cell FROM a1),
                 zb AS (SELECT b AS t2, b.ra AS ra, b.dec AS dec, sky_zone(b.dec, radius_arcsec) AS zone, sky_cell(b.ra, sky_zone_cells(sky_zone(b.dec, radius_arcsec), radius_arcsec)) AS cell
                        FROM query_table(table2) b)
            SELECT za.t1, zb.t2, angdist(za.ra, za.dec, zb.ra, zb.dec) * 3600 AS distance_arcsec
            FROM za JOIN zb ON za.zone = zb.zone AND za.cell = zb.cell AND xmatch(za.ra, za.dec, zb.ra, zb.dec, radius_arcsec);
        CREATE OR REPLACE MACRO {Catalog}.main.xmatch_nearest(table1, table2, radius_arcsec) AS TABLE
            WITH k AS (SELECT a AS t1, a.ra AS ra, a.dec AS dec, row_number() OVER () AS k FROM query_table(table1) a),
                 a0 AS (SELECT k.*, sky_zone(dec, radius_arcsec) + z AS zone FROM k, (VALUES (-1), (0), (1)) v(z)),
                 a1 AS (SELECT a0.*, sky_zone_cells(zone, radius_arcsec) AS cells FROM a0),
                 za AS (SELECT t1, k, ra, dec, zone, unnest(list_distinct([(sky_cell(ra, cells) + cells - 1) % cells, sky_cell(ra, cells), (sky_cell(ra, cells) + 1) % cells])) AS cell FROM a1),
                 zb AS (SELECT b AS t2, b.ra AS ra, b.dec AS dec, sky_zone(b.dec, radius_arcsec) AS zone, sky_cell(b.ra, sky_zone_cells(sky_zone(b.dec, radius_arcsec), radius_arcsec)) AS cell
                        FROM query_table(table2) b)
            SELECT any_value(za.t1) AS t1, arg_min(zb.t2, angdist(za.ra, za.dec, zb.ra, zb.dec)) AS t2,
                   min(angdist(za.ra, za.dec, zb.ra, zb.dec)) * 3600 AS distance_arcsec
            FROM za JOIN zb ON za.zone = zb.zone AND za.cell = zb.cell AND xmatch(za.ra, za.dec, zb.ra, zb.dec, radius_arcsec)
            GROUP BY za.k;
        """;

    /// <summary>The columns of the attached catalog, with their comments: what <see cref="Read"/> needs.</summary>
    public static readonly string ColumnsSql =
        $"SELECT table_name, column_name, data_type, comment FROM duckdb_columns() WHERE database_name = '{DuckDbSandbox.ContextAlias}' AND schema_name = 'main' ORDER BY table_name, column_index";

    /// <summary>The sky-indexed tables among columns read with <see cref="ColumnsSql"/> (table, column, type, comment).</summary>
    public static SkyCatalog Read(IEnumerable<(string Table, string Column, string Type, string? Comment)> columns)
    {
        var indexes = new List<SkyIndex>();
        foreach (var table in columns.GroupBy(c => c.Table, StringComparer.Ordinal))
        {
            var names = table.Select(c => c.Column).ToList();
            foreach (var column in table.Where(c => c.Type == "BIGINT"))
            {
                if (SkyIndexMarker.Parse(column.Comment) is { } marker
                    && names.Contains(marker.Ra, StringComparer.OrdinalIgnoreCase) && names.Contains(marker.Dec, StringComparer.OrdinalIgnoreCase))
                {
                    indexes.Add(new SkyIndex(table.Key, names.First(n => string.Equals(n, marker.Ra, StringComparison.OrdinalIgnoreCase)),
                        names.First(n => string.Equals(n, marker.Dec, StringComparison.OrdinalIgnoreCase)), column.Column, marker.Order, names));
                    break;
                }
            }
        }

        return new SkyCatalog(indexes);
    }

    /// <summary>Defines the sky functions in <see cref="Catalog"/>, for every session of the connection's instance.</summary>
    public static void Define(DuckDBConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var columns = new List<(string, string, string, string?)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = ColumnsSql;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                columns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
            }
        }

        using var define = connection.CreateCommand();
        define.CommandText = General + NearbyMacro(Read(columns));
        define.ExecuteNonQuery();
    }

    /// <summary>
    /// fGetNearbyObjEq(ra, dec, radius_arcmin) as DuckDB knows it: the catalog's one sky table within the radius, with
    /// <c>distance</c> in arcminutes. Without the index ranges (DuckDB cannot compute them): the translator replaces a call
    /// with constant arguments by the same rows read through the index, so this only answers calls it could not.
    /// </summary>
    private static string NearbyMacro(SkyCatalog sky)
    {
        if (sky.Tables.Count != 1)
        {
            return $"CREATE OR REPLACE MACRO {Catalog}.main.fGetNearbyObjEq(ra_centre, dec_centre, radius_arcmin) AS TABLE SELECT error('{Sql.Literal(NoSkyTable(sky))}') AS objid;";
        }

        var table = sky.Tables.First();
        var ra = Sql.Identifier(table.Ra);
        var dec = Sql.Identifier(table.Dec);
        var sb = new StringBuilder($"CREATE OR REPLACE MACRO {Catalog}.main.fGetNearbyObjEq(ra_centre, dec_centre, radius_arcmin) AS TABLE SELECT *");
        sb.Append(ObjIdColumn(table)).Append(", angdist(").Append(ra).Append(", ").Append(dec).Append(", ra_centre, dec_centre) * 60 AS distance FROM ")
            .Append(DuckDbSandbox.ContextAlias).Append(".main.").Append(Sql.Identifier(table.Table))
            .Append(" WHERE CASE WHEN NOT (CAST(radius_arcmin AS DOUBLE) BETWEEN 0 AND ").Append(MaxConeArcmin)
            .Append(") THEN error('fGetNearbyObjEq: the radius must be between 0 and ").Append(MaxConeArcmin).Append(" arcminutes; got ' || radius_arcmin)")
            .Append(" WHEN NOT (CAST(dec_centre AS DOUBLE) BETWEEN -90 AND 90) THEN error('fGetNearbyObjEq: the centre''s declination must be between -90 and 90 degrees; got ' || dec_centre)")
            .Append(" ELSE cone(").Append(ra).Append(", ").Append(dec).Append(", ra_centre, dec_centre, radius_arcmin / 60.0) END;");
        return sb.ToString();
    }

    /// <summary>SkyServer's objID: the table's own <c>id</c> under that name too, when it has an id and no objid.</summary>
    internal static string ObjIdColumn(SkyIndex table) =>
        table.Columns.Contains("id", StringComparer.OrdinalIgnoreCase) && !table.Columns.Contains("objid", StringComparer.OrdinalIgnoreCase)
            ? $", {Sql.Identifier(table.Columns.First(c => string.Equals(c, "id", StringComparison.OrdinalIgnoreCase)))} AS objID"
            : "";

    internal static string NoSkyTable(SkyCatalog sky) => sky.Tables.Count == 0
        ? "fGetNearbyObjEq: this context has no sky-indexed table (a HEALPix column over ra and dec); use cone(ra, dec, ra0, dec0, radius_deg) on your table instead."
        : $"fGetNearbyObjEq: this context has several sky-indexed tables ({string.Join(", ", sky.Tables.Select(t => t.Table).Order(StringComparer.Ordinal))}); use cone(ra, dec, ra0, dec0, radius_deg) on one of them.";
}
