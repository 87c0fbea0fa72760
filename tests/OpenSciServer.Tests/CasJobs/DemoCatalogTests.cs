using DuckDB.NET.Data;
using OpenSciServer.CasJobs;

namespace OpenSciServer.Tests.CasJobs;

public sealed class DemoCatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-demo-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A coarse stand-in index (1-degree cells) for these tests; the platform passes real HEALPix.
    private static long Cell(double ra, double dec) => (long)(Math.Floor(dec + 90) * 360 + Math.Floor(ra));

    [Fact]
    public void Generate_IsDeterministic_OrderedByIndex_AndAstronomicallyPlausible()
    {
        var first = Path.Combine(_dir, "a.duckdb");
        var second = Path.Combine(_dir, "b.duckdb");

        DemoCatalog.Generate(first, 20_000, Cell);
        DemoCatalog.Generate(second, 20_000, Cell);

        Assert.Equal(Checksum(first), Checksum(second));
        using var db = new DuckDBConnection($"Data Source={first}");
        db.Open();
        Assert.Equal(20_000L, Scalar(db, "SELECT count(*) FROM erass_synthetic"));
        Assert.Equal(0L, Scalar(db, "SELECT count(*) FROM erass_synthetic WHERE ra < 0 OR ra >= 360 OR dec < -90 OR dec > 90 OR flux_05_2 <= 0 OR flux_05_2_err <= 0"));
        Assert.Equal(0L, Scalar(db, "SELECT count(*) FROM (SELECT healpix < lag(healpix) OVER (ORDER BY rowid) AS back FROM erass_synthetic) WHERE back"));
        Assert.Equal(4L, Scalar(db, "SELECT count(DISTINCT class) FROM erass_synthetic"));
        // Clumped: the busiest square degree holds far more than the all-sky average (20000/41253 per square degree).
        Assert.True((long)Scalar(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM erass_synthetic GROUP BY healpix)")! > 20);
    }

    private static string Checksum(string path)
    {
        using var db = new DuckDBConnection($"Data Source={path}");
        db.Open();
        return Convert.ToString(Scalar(db, "SELECT sum(hash(id, ra, dec, flux_05_2, class, healpix)) FROM erass_synthetic"), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    private static object? Scalar(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
