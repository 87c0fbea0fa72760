using System.Diagnostics;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.CasJobs;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Infrastructure;

using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Warm workers: reused for the same user and context only, no session state between queries, out of the way of the user's other workers, stopped when idle too long.</summary>
public sealed class WarmWorkerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-warm-" + Guid.NewGuid().ToString("N")[..8])).FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly string _alice;
    private readonly string _bob;
    private QueryRunner _runner;

    public WarmWorkerTests()
    {
        _alice = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "mydb", "alice")).FullName, "mydb.duckdb");
        _bob = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "mydb", "bob")).FullName, "mydb.duckdb");
        _runner = Runner(warm: 4);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _runner.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task RunAsync_TheSameUsersNextQuery_IsServedByTheSameWarmWorker()
    {
        await QueryAsync(_alice, "SELECT 1");
        var first = Workers(_alice);
        await QueryAsync(_alice, "SELECT 2");

        Assert.Single(first);
        Assert.Equal(first, Workers(_alice));
        Assert.Equal(1, _runner.IdleWorkers);
    }

    [Fact]
    public async Task RunAsync_AnotherUser_NeverGetsTheFirstUsersWorker()
    {
        await QueryAsync(_alice, "CREATE TABLE secret AS SELECT 42 AS x");
        var alices = Workers(_alice);

        var bobs = await Assert.ThrowsAsync<PlatformException>(() => QueryAsync(_bob, "SELECT * FROM secret"));

        Assert.Contains("secret", bobs.Message, StringComparison.Ordinal);
        Assert.Single(Workers(_bob));
        Assert.Empty(Workers(_bob).Intersect(alices));
        Assert.Equal(2, _runner.IdleWorkers);
    }

    [Fact]
    public async Task WarmWorker_KeepsNoSessionStateBetweenQueries_ButKeepsMyDbTables()
    {
        await QueryAsync(_alice, "CREATE TEMP TABLE scratch AS SELECT 1 AS x; CREATE TABLE kept AS SELECT 7 AS x");

        var temp = await Assert.ThrowsAsync<PlatformException>(() => QueryAsync(_alice, "SELECT * FROM scratch"));
        var kept = await QueryAsync(_alice, "SELECT x FROM kept");

        Assert.Contains("scratch", temp.Message, StringComparison.Ordinal);
        Assert.Equal(7, kept.ResultSets[0].Rows[0][0].GetInt64());
        Assert.Single(Workers(_alice));
    }

    [Fact]
    public async Task AnotherWorkerOfTheSameUser_StopsTheIdleOneHoldingTheirMyDb()
    {
        await QueryAsync(_alice, "SELECT 1");
        var idle = Assert.Single(Workers(_alice));

        // Not reusable (as a long query is): a new worker, which needs the MyDB file the idle one holds.
        var created = await _runner.RunAsync(Request(_alice, "CREATE TABLE fresh AS SELECT 5 AS x; SELECT x FROM fresh"), TimeSpan.FromSeconds(30), started: null, CancellationToken.None, reuse: false);

        Assert.Equal(5, created.ResultSets[0].Rows[0][0].GetInt64());
        Assert.DoesNotContain(idle, Workers(_alice));
    }

    [Fact]
    public async Task ConcurrentQueriesOfTheSameUser_WaitForTheirMyDb_AndBothAnswer()
    {
        var slow = _runner.RunAsync(Request(_alice, "CREATE TABLE slow AS SELECT count(*) AS n FROM range(400000000)"), TimeSpan.FromSeconds(60), started: null, CancellationToken.None, reuse: false);
        await Task.Delay(200);

        var quick = await QueryAsync(_alice, "SELECT 42");
        await slow;

        Assert.Equal(42, quick.ResultSets[0].Rows[0][0].GetInt64());
        Assert.Equal(400000000, (await QueryAsync(_alice, "SELECT n FROM slow")).ResultSets[0].Rows[0][0].GetInt64());
    }

    [Fact]
    public async Task MyDbHeldByAnotherProcess_ForTheWholeLimit_SaysSo()
    {
        using var holder = new DuckDBConnection($"Data Source={_alice}");
        holder.Open();

        var error = await Assert.ThrowsAsync<PlatformException>(() => _runner.RunAsync(Request(_alice, "SELECT 1"), TimeSpan.FromSeconds(2), CancellationToken.None));

        Assert.Contains("Your MyDB was in use by another of your queries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AfterATimeout_TheKilledWorkerIsNotReused()
    {
        await QueryAsync(_alice, "SELECT 1");
        var killed = Workers(_alice);

        await Assert.ThrowsAsync<PlatformException>(() => _runner.RunAsync(Request(_alice, "SELECT count(*) FROM range(1000000000000)"), TimeSpan.FromSeconds(1), CancellationToken.None));
        var after = await QueryAsync(_alice, "SELECT 3");

        Assert.Equal(3, after.ResultSets[0].Rows[0][0].GetInt64());
        Assert.Empty(Workers(_alice).Intersect(killed));
    }

    [Fact]
    public async Task IdleWorker_PastItsIdleTime_IsStopped()
    {
        await QueryAsync(_alice, "SELECT 1");
        var pid = Assert.Single(Workers(_alice));

        _time.Advance(TimeSpan.FromMinutes(3));

        await WaitUntilAsync(() => !Workers(_alice).Contains(pid));
        Assert.Equal(0, _runner.IdleWorkers);
    }

    [Fact]
    public async Task RunAsync_WithNoWarmWorkers_StartsAWorkerPerQuery()
    {
        await _runner.DisposeAsync();
        _runner = Runner(warm: 0);

        await QueryAsync(_alice, "SELECT 1");

        Assert.Equal(0, _runner.IdleWorkers);
        await WaitUntilAsync(() => Workers(_alice).Count == 0);
    }

    private QueryRunner Runner(int warm) =>
        new(Options.Create(new CasJobsOptions { WarmWorkers = warm, WarmWorkerIdleTime = TimeSpan.FromMinutes(2) }), NullLogger<QueryRunner>.Instance, _time);

    private Task<QueryOutcome> QueryAsync(string myDb, string sql) =>
        _runner.RunAsync(Request(myDb, sql), TimeSpan.FromSeconds(30), CancellationToken.None);

    private static WorkerRequest Request(string myDb, string sql) =>
        new(myDb, null, "256MiB", 1, 1000, sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => new WorkerStatement(s, s.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase))).ToList());

    /// <summary>The sandboxes (outer bubblewrap processes) bound to this user's MyDB folder.</summary>
    private static List<int> Workers(string myDb)
    {
        var folder = Path.GetDirectoryName(myDb)!;
        var found = MachineProcesses.All()
            .Where(p => p.Arguments.Count > 0 && p.Arguments[0] == "/usr/bin/bwrap" && p.Arguments.Contains(folder) && !p.IsZombie)
            .Select(p => (p.Pid, Parent: p.ParentPid)).ToList();

        // bubblewrap forks once for the new PID namespace: count the outer process only.
        return found.Where(f => !found.Any(o => o.Pid == f.Parent)).Select(f => f.Pid).ToList();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(50))
        {
            if (condition())
            {
                return;
            }
        }

        Assert.Fail("the condition did not hold within 10 s");
    }
}
