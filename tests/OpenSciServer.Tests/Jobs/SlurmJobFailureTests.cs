using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Jobs;
using OpenSciServer.Tests.Compute;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>A platform whose Slurm controller is not running: a job fails with a reason a scientist understands, and nothing is submitted twice.</summary>
public sealed class SlurmJobFailureTests(SlurmClusterFixture fixture) : IClassFixture<SlurmClusterFixture>, IAsyncLifetime
{
    private readonly PlatformFactory _platform = new(DatabaseKind.Sqlite);

    public async Task InitializeAsync()
    {
        _platform.Settings["Jobs:PollInterval"] = "00:00:00.250";
        await SlurmWorld.PrepareAsync(_platform, fixture.Cluster, reachable: false);
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task ControllerNotRunning_JobIsErrorWithAClearReason_AndResubmittingFailsAgainWithoutAnySlurmJob()
    {
        var user = PlatformFactory.UniqueName("sjf");
        using var client = _platform.CreateApiClient(await _platform.CreateUserAsync(user));
        var id = await Jobs.SubmitAsync(client, Jobs.Command("echo never", domain: SlurmWorld.Domain));

        var details = await Jobs.WaitAsync(client, id, "Error", seconds: 60);

        var job = details.GetProperty("job");
        var reason = string.Join(" ", job.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()));
        Assert.Contains("Slurm's controller does not answer, so the job could not be queued; submit it again later", reason, StringComparison.Ordinal);
        Assert.Contains("Unable to contact slurm controller", reason, StringComparison.Ordinal);
        Assert.Null((await SlurmJobWorld.RowAsync(_platform, id)).BackendId);
        Assert.False(job.TryGetProperty("exitCode", out var code) && code.ValueKind == JsonValueKind.Number);

        var resubmitted = await client.PostAsync($"/api/jobs/{id}/resubmit", null);
        Assert.True(resubmitted.IsSuccessStatusCode, await resubmitted.Content.ReadAsStringAsync());
        var second = (await resubmitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await Jobs.WaitAsync(client, second, "Error", seconds: 60);
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>("/api/jobs")).GetArrayLength());

        // Nothing of this platform reached the (running) cluster the tests share.
        var prefix = _platform.Services.GetServices<IJobBackend>().OfType<SlurmJobBackend>().Single().JobNamePrefix;
        var names = await fixture.Cluster.RunAsync("/usr/bin/squeue", "--noheader", "--states=all", "--format=%j");
        Assert.DoesNotContain(prefix, names, StringComparison.Ordinal);
    }
}
