using DuckDB.NET.Data;
using OpenSciServer.Astro;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// How a catalog table gets its sky index when the platform builds it (an admin's CSV or Parquet import): when the
/// source has numeric columns <c>ra</c> and <c>dec</c> (any case), a BIGINT column <c>healpix</c> (or <c>sky_healpix</c>
/// if the source already has a <c>healpix</c>) with the NESTED HEALPix index at <see cref="CasJobsSetup.IndexOrder"/>,
/// marked with <see cref="SkyIndexMarker.Comment"/>, and the table's rows ordered by it, so DuckDB's zone maps (min and
/// max per row group of 122,880 rows) skip all but the few row groups a cone touches. DuckDB sorts out of core: a source
/// larger than memory spills to a temporary folder beside the new catalog, within the query memory limit.
/// </summary>
public static class SkyCatalogIndex
{
    /// <summary>The scalar function the build registers: HEALPix index of (ra, dec) in degrees; NULL for a NULL or impossible position.</summary>
    public const string Ang2PixFunction = "sky_ang2pix";

    private static readonly HashSet<string> Numeric = new(StringComparer.OrdinalIgnoreCase)
    {
        "DOUBLE", "FLOAT", "REAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    };

    /// <summary>
    /// The CREATE TABLE ... AS statement that copies <paramref name="source"/> (a table function reading the file) into
    /// <paramref name="table"/>: as it is without ra and dec, else with the index column and ordered by it. Also registers
    /// the index function and points DuckDB's spill files at <paramref name="tempFolder"/>.
    /// </summary>
    public static string CreateTableSql(DuckDBConnection db, string table, string source, string tempFolder, StrongBoxCounter? indexedRows = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        var columns = new List<(string Name, string Type)>();
        using (var describe = db.CreateCommand())
        {
            describe.CommandText = $"DESCRIBE SELECT * FROM {source}";
            using var reader = describe.ExecuteReader();
            while (reader.Read())
            {
                columns.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var ra = columns.FirstOrDefault(c => string.Equals(c.Name, "ra", StringComparison.OrdinalIgnoreCase) && IsNumeric(c.Type)).Name;
        var dec = columns.FirstOrDefault(c => string.Equals(c.Name, "dec", StringComparison.OrdinalIgnoreCase) && IsNumeric(c.Type)).Name;
        if (ra is null || dec is null)
        {
            return $"CREATE TABLE {Sql.Identifier(table)} AS SELECT * FROM {source}";
        }

        var index = columns.Any(c => string.Equals(c.Name, SkyIndexMarker.DefaultColumn, StringComparison.OrdinalIgnoreCase)) ? "sky_healpix" : SkyIndexMarker.DefaultColumn;
        RegisterAng2Pix(db, CasJobsSetup.IndexOrder, indexedRows);
        Execute(db, $"SET temp_directory = '{Sql.Literal(Path.Combine(tempFolder, "spill"))}'");
        var comment = SkyIndexMarker.Comment(CasJobsSetup.IndexOrder, ra, dec);
        return $"CREATE TABLE {Sql.Identifier(table)} AS SELECT *, {Ang2PixFunction}(CAST({Sql.Identifier(ra)} AS DOUBLE), CAST({Sql.Identifier(dec)} AS DOUBLE)) AS {Sql.Identifier(index)} " +
            $"FROM {source} ORDER BY {Sql.Identifier(index)}; COMMENT ON COLUMN {Sql.Identifier(table)}.{Sql.Identifier(index)} IS '{Sql.Literal(comment)}'";
    }

    /// <summary>Registers <see cref="Ang2PixFunction"/> at <paramref name="order"/> on the connection.</summary>
    /// <param name="indexedRows">Counts the rows indexed (an import's progress).</param>
    public static void RegisterAng2Pix(DuckDBConnection db, int order, StrongBoxCounter? indexedRows = null)
    {
        ArgumentNullException.ThrowIfNull(db);
#pragma warning disable DuckDBNET001 // scalar functions are marked experimental in DuckDB.NET
        db.RegisterScalarFunction<double, double, long>(Ang2PixFunction, (readers, writer, rows) =>
        {
            indexedRows?.Add((long)rows);
            for (ulong i = 0; i < rows; i++)
            {
                if (!readers[0].IsValid(i) || !readers[1].IsValid(i))
                {
                    writer.WriteNull(i);
                    continue;
                }

                var ra = readers[0].GetValue<double>(i);
                var dec = readers[1].GetValue<double>(i);
                if (double.IsFinite(ra) && dec >= -90 && dec <= 90)
                {
                    writer.WriteValue(Healpix.Ang2Pix(order, ra, dec), i);
                }
                else
                {
                    writer.WriteNull(i);
                }
            }
        });
#pragma warning restore DuckDBNET001
    }

    private static bool IsNumeric(string type) => Numeric.Contains(type) || type.StartsWith("DECIMAL", StringComparison.OrdinalIgnoreCase);

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
