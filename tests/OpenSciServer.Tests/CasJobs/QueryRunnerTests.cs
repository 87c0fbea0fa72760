using System.Diagnostics;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenSciServer.CasJobs;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>User SQL in a separate worker process inside bubblewrap: results, limits, and what the sandbox lets it see.</summary>
public sealed class QueryRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-runner-" + Guid.NewGuid().ToString("N")[..8])).FullName;
    private readonly string _context;
    private readonly string _aliceMyDb;
    private readonly string _bobMyDb;
    private readonly string _platformSecret;
    private readonly QueryRunner _runner = new(Options.Create(new CasJobsOptions()), NullLogger<QueryRunner>.Instance);

    public QueryRunnerTests()
    {
        Assert.True(File.Exists("/usr/bin/bwrap"), "bubblewrap is needed (./test.sh installs it)");
        _context = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "catalogs")).FullName, "demo.duckdb");
        _aliceMyDb = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "mydb", "alice")).FullName, "mydb.duckdb");
        _bobMyDb = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "mydb", "bob")).FullName, "mydb.duckdb");
        _platformSecret = Path.Combine(_dir, "platform.db");
        File.WriteAllText(_platformSecret, "password hashes");
        using var setup = new DuckDBConnection($"Data Source={_context}");
        setup.Open();
        using var create = setup.CreateCommand();
        create.CommandText = "CREATE TABLE sources AS SELECT i AS id, i * 0.1 AS ra, 5 - i * 0.05 AS dec, 'src' || i AS name FROM range(1000) t(i)";
        create.ExecuteNonQuery();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RunAsync_TSqlIntoMyDb_ThenSelect_ReturnsRowsFromTheWorker()
    {
        var statements = TSqlTranslator.Translate("SELECT TOP 5 [id], ra, name INTO mydb.bright FROM ctx.sources WHERE dec < 0 ORDER BY id; SELECT * FROM mydb.bright ORDER BY id")
            .Statements.Select(s => new WorkerStatement(s.Sql, s.ReturnsRows)).ToList();

        var outcome = await _runner.RunAsync(Request(_aliceMyDb, statements), TimeSpan.FromSeconds(60), CancellationToken.None);

        var set = Assert.Single(outcome.ResultSets);
        Assert.Equal(["id", "ra", "name"], set.Columns.Select(c => c.Name));
        Assert.Equal(5, set.Rows.Count);
        Assert.Equal(101, set.Rows[0][0].GetInt64());
        Assert.Equal("src101", set.Rows[0][2].GetString());
        Assert.False(set.Truncated);
    }

    [Fact]
    public async Task RunAsync_RowLimit_TruncatesAndSaysSo()
    {
        var request = Request(_aliceMyDb, [new WorkerStatement("SELECT * FROM ctx.sources", true)]) with { MaxRows = 10 };

        var outcome = await _runner.RunAsync(request, TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.Equal(10, outcome.ResultSets[0].Rows.Count);
        Assert.True(outcome.ResultSets[0].Truncated);
    }

    [Fact]
    public async Task RunAsync_PastItsTimeLimit_IsKilled_WithAClearMessage()
    {
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<PlatformException>(() => _runner.RunAsync(
            Request(_aliceMyDb, [new WorkerStatement("SELECT count(*) FROM range(1000000000000) a", true)]), TimeSpan.FromSeconds(2), CancellationToken.None));

        Assert.Contains("ran longer than its limit of 2 s", error.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.DoesNotContain(Process.GetProcesses(), p => SafeCommandLine(p).Contains(_aliceMyDb, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_BadSql_ReturnsTheEnginesMessage()
    {
        var error = await Assert.ThrowsAsync<PlatformException>(() => _runner.RunAsync(
            Request(_aliceMyDb, [new WorkerStatement("SELEC oops FROM ctx.sources", true)]), TimeSpan.FromSeconds(60), CancellationToken.None));

        Assert.Contains("syntax error", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(400, error.StatusCode);
    }

    [Theory]
    [InlineData("{context}", true)]
    [InlineData("{platform}", false)]
    [InlineData("{bob}", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("/root/.bashrc", false)]
    public async Task Sandbox_SeesTheContextAndItsOwnMyDb_AndNothingElse(string path, bool visible)
    {
        using (var bob = new DuckDBConnection($"Data Source={_bobMyDb}"))
        {
            bob.Open();
        }

        var target = path.Replace("{context}", _context, StringComparison.Ordinal).Replace("{platform}", _platformSecret, StringComparison.Ordinal)
            .Replace("{bob}", _bobMyDb, StringComparison.Ordinal);
        var (file, args) = _runner.SandboxCommand(Request(_aliceMyDb, []), "/usr/bin/test", ["-r", target]);

        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        await process.WaitForExitAsync();

        Assert.True(File.Exists(target) || target.StartsWith("/root", StringComparison.Ordinal), $"{target} should exist outside the sandbox");
        Assert.Equal(visible, process.ExitCode == 0);
    }

    [Fact]
    public async Task Sandbox_HasNoNetwork()
    {
        var (file, args) = _runner.SandboxCommand(Request(_aliceMyDb, []), "/usr/bin/cat", ["/proc/net/dev"]);
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true };

        using var process = Process.Start(psi)!;
        var interfaces = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        var names = interfaces.Split('\n').Skip(2).Where(l => l.Contains(':', StringComparison.Ordinal)).Select(l => l.Split(':')[0].Trim()).ToList();
        Assert.Equal(["lo"], names);
    }

    private WorkerRequest Request(string myDb, IReadOnlyList<WorkerStatement> statements) =>
        new(myDb, _context, "1GiB", 2, 100_000, statements);

    private static string SafeCommandLine(Process process)
    {
        try
        {
            return File.ReadAllText($"/proc/{process.Id}/cmdline");
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
