using DuckDB.NET.Data;
using OpenSciServer.CasJobs.Contexts;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>A catalog import larger than its memory limit: indexed and ordered by spilling to disk, with progress told along the way.</summary>
public sealed class SkyImportTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-skyimport-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Build_ParquetLargerThanTheMemoryLimit_IsIndexedAndOrdered_WithProgressReported()
    {
        const int rows = 1_000_000;
        var parquet = Path.Combine(_dir, "big.parquet");
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            // ~65 MB of rows once read (ids, positions, a text column), against a 32 MiB limit.
            Run(db, $"COPY (SELECT i AS id, random() * 360 AS ra, degrees(asin(2 * random() - 1)) AS dec, 'source ' || i AS name FROM range({rows}) t(i)) TO '{parquet}' (FORMAT parquet)");
        }

        var built = Path.Combine(_dir, "work", "big.duckdb");
        Directory.CreateDirectory(Path.GetDirectoryName(built)!);
        var reports = new List<string>();

        var count = CatalogBuilder.Build(new WorkerRequest(built, parquet, "32MiB", 2, 0, []), new WorkerCatalogBuild(CatalogBuilder.Parquet, "big"),
            message => { lock (reports) { reports.Add(message); } }, TimeSpan.FromMilliseconds(10)).Rows;

        Assert.Equal(rows, count);
        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.StartsWith("table 'big': ", r, StringComparison.Ordinal));
        Assert.Contains(reports, r => r.Contains(" rows read (", StringComparison.Ordinal) && r.Contains("of about 1,000,0", StringComparison.Ordinal));
        Assert.Contains("rows read after", reports[^1], StringComparison.Ordinal);
        // What the platform shows of it: the worker's last progress file, beside the new catalog.
        var last = OpenSciServer.CasJobs.Sky.SkyImportProgress.Read(Path.GetDirectoryName(built)!)!;
        Assert.Equal("writing", last.Phase);
        Assert.Equal(rows, last.RowsRead);
        Assert.Equal(rows, last.RowsTotal);
        Assert.Equal(new FileInfo(parquet).Length, last.BytesRead);
        Assert.Equal(new FileInfo(parquet).Length, last.BytesTotal);
        Assert.True(last.OutputBytes > 1 << 20, $"the new catalog: {last.OutputBytes} bytes");
        using var check = new DuckDBConnection($"Data Source={built};ACCESS_MODE=READ_ONLY");
        check.Open();
        Assert.Equal(0L, Scalar(check, "SELECT count(*) FROM (SELECT healpix < lag(healpix) OVER (ORDER BY rowid) AS back FROM big) WHERE back"));
        Assert.Equal((long)rows, Scalar(check, "SELECT count(healpix) FROM big"));
        Assert.Equal("HEALPix nested order 16 of (ra, dec)", Scalar(check, "SELECT comment FROM duckdb_columns() WHERE table_name = 'big' AND column_name = 'healpix'"));
    }

    private static void Run(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
