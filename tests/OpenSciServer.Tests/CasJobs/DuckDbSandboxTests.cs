using DuckDB.NET.Data;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// SECURITY.md, "Query service", for the DuckDB engine's own layer: what user SQL can and cannot do on
/// a sandboxed connection (the worker process and its bubblewrap sandbox come later, on top of this).
/// </summary>
public sealed class DuckDbSandboxTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-duck-" + Guid.NewGuid().ToString("N")[..8])).FullName;
    private readonly string _context;
    private readonly string _myDb;
    private readonly string _otherMyDb;

    public DuckDbSandboxTests()
    {
        _context = Path.Combine(_dir, "demo.duckdb");
        _myDb = Path.Combine(_dir, "alice.duckdb");
        _otherMyDb = Path.Combine(_dir, "bob.duckdb");
        using (var setup = new DuckDBConnection($"Data Source={_context}"))
        {
            setup.Open();
            Run(setup, "CREATE TABLE sources AS SELECT i AS id, i * 0.1 AS ra, -i * 0.05 AS dec FROM range(1000) t(i)");
        }

        using (var bob = new DuckDBConnection($"Data Source={_otherMyDb}"))
        {
            bob.Open();
            Run(bob, "CREATE TABLE secret AS SELECT 'bob''s data' AS v");
        }

        File.WriteAllText(Path.Combine(_dir, "passwd.csv"), "user,uid\nroot,0\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Query_ReadsTheContext_AndWritesMyDb()
    {
        using var db = DuckDbSandbox.Open(_myDb, _context, new DuckDbLimits());

        Assert.Equal(1000L, Scalar(db, "SELECT count(*) FROM ctx.sources"));
        // In a context, as in CasJobs, new tables are made in MyDB by name (here the MyDB catalog is "alice").
        Run(db, "CREATE TABLE alice.bright AS SELECT * FROM sources WHERE id < 10");
        Assert.Equal(10L, Scalar(db, "SELECT count(*) FROM bright"));
        Assert.ThrowsAny<DuckDBException>(() => Run(db, "CREATE TABLE unqualified AS SELECT 1"));
    }

    [Theory]
    [InlineData("SELECT * FROM read_csv('/etc/passwd')")]
    [InlineData("SELECT * FROM read_csv('{dir}/passwd.csv')")]
    [InlineData("SELECT * FROM read_text('/etc/hostname')")]
    [InlineData("SELECT * FROM read_blob('/etc/hostname')")]
    [InlineData("SELECT * FROM read_parquet('/tmp/x.parquet')")]
    [InlineData("SELECT * FROM glob('/*')")]
    [InlineData("COPY (SELECT 1) TO '{dir}/out.csv'")]
    [InlineData("COPY ctx.sources FROM '{dir}/passwd.csv'")]
    [InlineData("EXPORT DATABASE '{dir}/export'")]
    [InlineData("ATTACH '{dir}/bob.duckdb' AS bob")]
    [InlineData("ATTACH '../x.duckdb' AS x")]
    [InlineData("SET enable_external_access = true")]
    [InlineData("SET lock_configuration = false")]
    [InlineData("SET memory_limit = '100GB'")]
    [InlineData("INSTALL httpfs")]
    [InlineData("LOAD httpfs")]
    [InlineData("SELECT * FROM read_csv('https://example.org/x.csv')")]
    [InlineData("INSERT INTO ctx.sources VALUES (1, 2, 3)")]
    [InlineData("DELETE FROM ctx.sources")]
    [InlineData("DROP TABLE ctx.sources")]
    [InlineData("CREATE TABLE ctx.mine AS SELECT 1")]
    public void HostileSql_FailsWithAnError_AndChangesNothing(string sql)
    {
        using var db = DuckDbSandbox.Open(_myDb, _context, new DuckDbLimits(MemoryLimit: "512MiB"));

        var error = Assert.ThrowsAny<DuckDBException>(() => Run(db, sql.Replace("{dir}", _dir, StringComparison.Ordinal)));

        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal(1000L, Scalar(db, "SELECT count(*) FROM ctx.sources"));
        Assert.Equal("512.0 MiB", Scalar(db, "SELECT current_setting('memory_limit')"));
        Assert.False(File.Exists(Path.Combine(_dir, "out.csv")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "export")));
    }

    [Fact]
    public void AnotherUsersMyDb_IsNotVisible()
    {
        using var db = DuckDbSandbox.Open(_myDb, _context, new DuckDbLimits());

        var catalogs = new List<string>();
        using (var command = db.CreateCommand())
        {
            command.CommandText = "SELECT database_name FROM duckdb_databases() WHERE NOT internal ORDER BY 1";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                catalogs.Add(reader.GetString(0));
            }
        }

        // The user's MyDB, the context, and the platform's in-memory catalog of sky functions: no other file.
        Assert.Equal(["alice", "ctx", "oss_sky"], catalogs);
        Assert.Equal(true, Scalar(db, "SELECT coalesce(path, '') IN ('', ':memory:') FROM duckdb_databases() WHERE database_name = 'oss_sky'"));
        Assert.ThrowsAny<DuckDBException>(() => Run(db, "SELECT * FROM bob.secret"));
    }

    [Fact]
    public async Task RunawayQuery_IsCancelledWithinASecond()
    {
        using var db = DuckDbSandbox.Open(_myDb, _context, new DuckDbLimits());
        using var command = db.CreateCommand();
        command.CommandText = "SELECT count(*) FROM range(1000000000000) a";
        var run = Task.Run(() => command.ExecuteScalar());
        await Task.Delay(300);
        var watch = System.Diagnostics.Stopwatch.StartNew();

        command.Cancel();

        await Assert.ThrowsAnyAsync<Exception>(() => run);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"cancel took {watch.Elapsed}");
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
