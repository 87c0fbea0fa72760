using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// The platform stops and a new one starts on the same data while Slurm jobs of its sessions run: a
/// job still running is adopted, a job cancelled behind the platform's back leaves its session
/// Stopped, and a job of this platform that no session claims is cancelled.
/// </summary>
public sealed class SlurmRestartTests(SlurmClusterFixture fixture) : IClassFixture<SlurmClusterFixture>, IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-slurm-restart-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task PlatformRestarted_RunningJobIsAdopted_CancelledJobIsStopped_UnclaimedJobIsCancelled()
    {
        var cluster = fixture.Cluster;
        var user = PlatformFactory.UniqueName("sr");
        Guid kept, lost;
        string keptJob, lostJob, prefix;
        int keptPort;
        await using (var first = new PlatformFactory(DatabaseKind.Sqlite, _data))
        {
            await SlurmWorld.PrepareAsync(first, cluster);
            using var client = first.CreateApiClient(await first.CreateUserAsync(user));
            kept = await SlurmWorld.CreateSessionAsync(client, user, "kept", SlurmWorld.Domain);
            lost = await SlurmWorld.CreateSessionAsync(client, user, "lost", SlurmWorld.Domain);
            await ComputeWorld.WaitForStatusAsync(client, kept, "Running");
            await ComputeWorld.WaitForStatusAsync(client, lost, "Running");
            var keptRow = await SlurmWorld.RowAsync(first, kept);
            (keptJob, keptPort) = (keptRow.BackendId!, keptRow.UpstreamPort!.Value);
            lostJob = (await SlurmWorld.RowAsync(first, lost)).BackendId!;
            prefix = first.Services.GetServices<IComputeBackend>().OfType<SlurmBackend>().Single().JobNamePrefix;
        }

        // While no platform runs: one job is cancelled by someone else, and a job carrying this
        // platform's name that no session claims appears (a start interrupted by a crash).
        await cluster.RunAsync("/usr/bin/scancel", lostJob);
        var orphan = (await cluster.RunAsync("/usr/bin/sbatch", "--parsable", $"--job-name={prefix}{Guid.NewGuid():N}-1",
            "--output=/dev/null", "--time=5", "--mem=16", "--wrap=sleep 300")).Trim();
        Assert.Equal("RUNNING", await JobStateEventuallyAsync(cluster, orphan, "RUNNING"));
        Assert.Equal("RUNNING", await cluster.JobStateAsync(keptJob));

        await using var second = new PlatformFactory(DatabaseKind.Sqlite, _data);
        second.Settings["Compute:CheckInterval"] = "00:00:01";
        foreach (var (key, value) in cluster.PlatformSettings())
        {
            second.Settings[key] = value;
        }

        await second.InitializeAsync();
        using var again = second.CreateApiClient(await second.LoginAsync(user, "a-good-long-password"));

        var adopted = await again.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{kept}");
        Assert.True(adopted.GetProperty("status").GetString() == "Running", adopted.ToString());
        var keptNow = await SlurmWorld.RowAsync(second, kept);
        Assert.Equal(keptJob, keptNow.BackendId); // the same job and Jupyter, not a new one
        Assert.Equal(keptPort, keptNow.UpstreamPort);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync($"{Jupyter.Base(kept)}api/contents")).StatusCode);
        Assert.Equal("RUNNING", await cluster.JobStateAsync(keptJob));

        var ended = await again.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{lost}");
        Assert.Equal("Stopped", ended.GetProperty("status").GetString());
        Assert.Contains("ended while the platform was restarting", SlurmSessionTests.Reason(ended), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await again.GetAsync($"{Jupyter.Base(lost)}api/contents")).StatusCode);

        Assert.Equal("CANCELLED", await JobStateEventuallyAsync(cluster, orphan, "CANCELLED"));

        foreach (var id in new[] { kept, lost })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await again.DeleteAsync($"/api/compute/sessions/{id}")).StatusCode);
        }

        Assert.Equal("CANCELLED", await JobStateEventuallyAsync(cluster, keptJob, "CANCELLED"));
    }

    private static async Task<string?> JobStateEventuallyAsync(SlurmCluster cluster, string jobId, string state)
    {
        string? now = null;
        for (var i = 0; i < 100 && (now = await cluster.JobStateAsync(jobId)) != state; i++)
        {
            await Task.Delay(100);
        }

        return now;
    }
}
