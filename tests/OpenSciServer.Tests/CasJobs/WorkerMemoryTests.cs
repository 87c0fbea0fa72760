using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenSciServer.CasJobs;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Infrastructure;

using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// A query's memory: DuckDB's own limit, and the operating system's limit on the whole worker (a
/// control group), so a memory-hungry query fails alone instead of starving the machine.
/// </summary>
public sealed class WorkerMemoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-memory-" + Guid.NewGuid().ToString("N")[..8])).FullName;
    private readonly string _myDb;

    public WorkerMemoryTests()
    {
        _myDb = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "mydb", "alice")).FullName, "mydb.duckdb");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RunAsync_CrossJoinPastDuckDbsMemoryLimit_FailsWithTheEnginesOutOfMemoryError()
    {
        var runner = Runner(new CasJobsOptions());
        var request = new WorkerRequest(_myDb, null, "64MiB", 1, 10,
            [new WorkerStatement("SELECT a.range AS x, list(b.range) AS l FROM range(2000) a, range(20000) b GROUP BY a.range", true)]);

        var error = await Assert.ThrowsAsync<PlatformException>(() => runner.RunAsync(request, TimeSpan.FromSeconds(60), CancellationToken.None));

        Assert.Equal(400, error.StatusCode);
        Assert.Contains("Out of Memory", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RunAsync_WorkerPastTheOperatingSystemLimit_IsStoppedWithAClearMessage()
    {
        Assert.True(WorkerCgroups.Available, "memory control groups must be writable (tests run as root, as CI does)");
        // DuckDB may use 4 GiB, the worker as a whole only 256 MiB: the kernel's limit is the one that acts.
        var runner = Runner(new CasJobsOptions { WorkerMemoryLimit = "256MiB" });
        var request = new WorkerRequest(_myDb, null, "4GiB", 1, 10,
            [new WorkerStatement("SELECT length(string_agg(repeat('x', 1000), '')) FROM range(2000000)", true)]);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<PlatformException>(() => runner.RunAsync(request, TimeSpan.FromSeconds(120), CancellationToken.None));

        Assert.Equal(400, error.StatusCode);
        Assert.Contains("needed more than the 256 MiB of memory", error.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task RunAsync_Worker_RunsInsideItsOwnMemoryGroup_WhichIsRemovedAfterwards()
    {
        Assert.True(WorkerCgroups.Available, "memory control groups must be writable (tests run as root, as CI does)");
        var runner = Runner(new CasJobsOptions { WorkerMemoryLimit = "300MiB" });
        var request = new WorkerRequest(_myDb, null, "128MiB", 1, 10, [new WorkerStatement("SELECT count(*) FROM range(1000000000000)", true)]);
        var run = runner.RunAsync(request, TimeSpan.FromSeconds(5), CancellationToken.None);

        var worker = await WaitForWorkerAsync();
        var group = (await File.ReadAllLinesAsync($"/proc/{worker}/cgroup")).Select(l => l.Split(':', 3)).First(p => p[1] is "memory" or "").ElementAt(2);
        var groupPath = WorkerGroupPath(group);
        var limit = long.Parse(await File.ReadAllTextAsync(Path.Combine(groupPath, File.Exists(Path.Combine(groupPath, "memory.max")) ? "memory.max" : "memory.limit_in_bytes")),
            System.Globalization.CultureInfo.InvariantCulture);
        await Assert.ThrowsAsync<PlatformException>(() => run);

        Assert.Contains("opensciserver-queries/", group, StringComparison.Ordinal);
        Assert.InRange(limit, 300L * 1024 * 1024 - 4096, 300L * 1024 * 1024);
        Assert.False(Directory.Exists(groupPath), "the worker's group is removed when the query ends");
    }

    private static QueryRunner Runner(CasJobsOptions options) => new(Options.Create(options), NullLogger<QueryRunner>.Instance);

    private static string WorkerGroupPath(string group) =>
        Directory.Exists("/sys/fs/cgroup/memory" + group) ? "/sys/fs/cgroup/memory" + group : "/sys/fs/cgroup" + group;

    /// <summary>The sandbox process of this test's worker: bubblewrap, binding this test's MyDB folder.</summary>
    private async Task<int> WaitForWorkerAsync()
    {
        for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(5); await Task.Delay(50))
        {
            if (MachineProcesses.All().FirstOrDefault(p => p.CommandLine.StartsWith("/usr/bin/bwrap", StringComparison.Ordinal) && p.CommandLine.Contains(_dir, StringComparison.Ordinal)) is { } worker)
            {
                return worker.Pid;
            }
        }

        throw new TimeoutException("no query worker appeared");
    }
}
