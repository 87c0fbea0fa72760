using DuckDB.NET.Data;
using OpenSciServer.CasJobs;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>The operator and benchmark verbs: <c>OpenSciServer catalog generate|time</c>.</summary>
public sealed class CatalogCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-catalogcmd-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Generate_WritesTheRowsAsked_WithProgress_ThenTimeRunsTheSqlRepeatedly()
    {
        var path = Path.Combine(_dir, "bench.duckdb");
        var generated = new StringWriter();
        var timed = new StringWriter();

        var generate = CatalogCommands.Run(["generate", path, "3000"], generated);
        var time = CatalogCommands.Run(["time", path, "1", "3", "SELECT class, count(*) FROM erass_synthetic GROUP BY class"], timed);

        Assert.Equal(0, generate);
        Assert.Contains("100 %", generated.ToString(), StringComparison.Ordinal);
        using (var db = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY"))
        {
            db.Open();
            using var count = db.CreateCommand();
            count.CommandText = "SELECT count(*) FROM erass_synthetic";
            Assert.Equal(3000L, Convert.ToInt64(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(0, time);
        var lines = timed.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.True(double.Parse(l, System.Globalization.CultureInfo.InvariantCulture) >= 0));
    }

    [Fact]
    public void Generate_OverAnExistingFile_RefusesAndKeepsIt()
    {
        var path = Path.Combine(_dir, "keep.duckdb");
        File.WriteAllText(path, "precious");

        var code = CatalogCommands.Run(["generate", path, "10"], new StringWriter());

        Assert.Equal(2, code);
        Assert.Equal("precious", File.ReadAllText(path));
    }

    [Theory]
    [InlineData("generate")]
    [InlineData("generate|x.duckdb|many")]
    [InlineData("explode")]
    public void Run_BadArguments_PrintsUsage(string args)
    {
        var output = new StringWriter();

        var code = CatalogCommands.Run(args.Split('|'), output);

        Assert.Equal(2, code);
        Assert.StartsWith("usage:", output.ToString(), StringComparison.Ordinal);
    }
}
