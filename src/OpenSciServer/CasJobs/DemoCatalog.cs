using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs;

/// <summary>
/// A deterministic, clearly synthetic X-ray source catalogue in the shape of eROSITA's, so a new server
/// has something to query and benchmarks have data of any size: positions with clustered sky density
/// (70 % spread over the sphere, 30 % in 200 Gaussian clumps), soft and hard band fluxes with errors,
/// detection likelihood, extent, an optical magnitude, a class, and a HEALPix index (nested) to order
/// the table by, so DuckDB's zone maps prune what is far from a cone.
/// </summary>
public static class DemoCatalog
{
    public const string TableName = "erass_synthetic";

    /// <summary>Writes <paramref name="rows"/> sources into a new DuckDB file at <paramref name="path"/>, ordered by HEALPix index.</summary>
    /// <param name="healpix">Nested HEALPix index of (ra, dec) in degrees at the catalogue's order.</param>
    /// <param name="indexOrder">That order, when <paramref name="healpix"/> is HEALPix: the column is then marked as the table's sky index.</param>
    public static void Generate(string path, long rows, Func<double, double, long> healpix, int seed = 20261125, IProgress<double>? progress = null, int? indexOrder = null)
    {
        ArgumentNullException.ThrowIfNull(healpix);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var random = new Random(seed);
        var clumps = Enumerable.Range(0, 200).Select(_ => RandomOnSphere(random)).ToArray();
        using var connection = new DuckDBConnection($"Data Source={path}");
        connection.Open();
        Execute(connection, """
            CREATE TABLE staging (
                id BIGINT, ra DOUBLE, dec DOUBLE,
                flux_05_2 DOUBLE, flux_05_2_err DOUBLE, flux_2_5 DOUBLE, flux_2_5_err DOUBLE,
                det_like DOUBLE, ext DOUBLE, mag DOUBLE, class VARCHAR, healpix BIGINT)
            """);
        string[] classes = ["star", "agn", "galaxy", "cluster"];
        using (var appender = connection.CreateAppender("staging"))
        {
            for (long i = 0; i < rows; i++)
            {
                var (ra, dec) = random.NextDouble() < 0.7 ? RandomOnSphere(random) : Near(random, clumps[random.Next(clumps.Length)], 0.5);
                // Log-normal fluxes around eRASS1's sensitivity (~5e-14 erg/s/cm2 in 0.5-2 keV).
                var soft = Math.Exp(Gaussian(random) * 1.2 + Math.Log(5e-14));
                var hard = soft * Math.Exp(Gaussian(random) * 0.5 - 0.7);
                var kind = random.Next(100) switch { < 20 => 0, < 80 => 1, < 95 => 2, _ => 3 };
                var row = appender.CreateRow();
                row.AppendValue(i + 1).AppendValue(ra).AppendValue(dec)
                    .AppendValue(soft).AppendValue(soft * (0.1 + random.NextDouble() * 0.3))
                    .AppendValue(hard).AppendValue(hard * (0.2 + random.NextDouble() * 0.5))
                    .AppendValue(6 + Math.Abs(Gaussian(random)) * 20)
                    .AppendValue(kind == 3 ? 10 + random.NextDouble() * 50 : 0.0)
                    .AppendValue(kind == 0 ? 10 + random.NextDouble() * 6 : 17 + random.NextDouble() * 6)
                    .AppendValue(classes[kind])
                    .AppendValue(healpix(ra, dec))
                    .EndRow();
                if (progress is not null && i % 1_000_000 == 0)
                {
                    progress.Report((double)i / Math.Max(1, rows));
                }
            }
        }

        Execute(connection, $"CREATE TABLE {TableName} AS SELECT * FROM staging ORDER BY healpix");
        Execute(connection, "DROP TABLE staging");
        if (indexOrder is int order)
        {
            // The marker that makes the column the table's sky index (Sky/SkyIndex.cs): cone searches then read only nearby row groups.
            Execute(connection, $"COMMENT ON COLUMN {TableName}.healpix IS '{Sky.SkyIndexMarker.Comment(order, "ra", "dec")}'");
        }
        Execute(connection, "CHECKPOINT");
        progress?.Report(1);
    }

    private static (double Ra, double Dec) RandomOnSphere(Random random)
    {
        var ra = random.NextDouble() * 360;
        var dec = Math.Asin(2 * random.NextDouble() - 1) * 180 / Math.PI;
        return (ra, dec);
    }

    private static (double Ra, double Dec) Near(Random random, (double Ra, double Dec) centre, double sigmaDeg)
    {
        var dec = Math.Clamp(centre.Dec + Gaussian(random) * sigmaDeg, -90, 90);
        var cosDec = Math.Max(Math.Cos(dec * Math.PI / 180), 1e-6);
        var ra = centre.Ra + Gaussian(random) * sigmaDeg / cosDec;
        return (((ra % 360) + 360) % 360, dec);
    }

    private static double Gaussian(Random random)
    {
        // Box-Muller; 1 - u keeps the logarithm finite.
        var u = 1 - random.NextDouble();
        var v = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
