using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>A platform whose Slurm controller is not running: sessions fail with a reason a scientist understands, once.</summary>
public sealed class SlurmFailureTests(SlurmClusterFixture fixture) : IClassFixture<SlurmClusterFixture>, IAsyncLifetime
{
    private readonly PlatformFactory _platform = new(DatabaseKind.Sqlite);

    public async Task InitializeAsync() => await SlurmWorld.PrepareAsync(_platform, fixture.Cluster, reachable: false);

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task ControllerNotRunning_SessionFailsWithAClearReason_AndStartingAgainFailsAgainWithoutASecondSession()
    {
        var user = PlatformFactory.UniqueName("sf");
        using var client = _platform.CreateApiClient(await _platform.CreateUserAsync(user));
        var id = await SlurmWorld.CreateSessionAsync(client, user, "no-controller", SlurmWorld.Domain);

        var failed = await WaitForEndAsync(client, id);

        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        var reason = SlurmSessionTests.Reason(failed);
        Assert.Contains("Slurm's controller does not answer, so the session could not be queued", reason, StringComparison.Ordinal);
        Assert.Contains("Unable to contact slurm controller", reason, StringComparison.Ordinal);
        Assert.Null((await SlurmWorld.RowAsync(_platform, id)).BackendId);

        var restarted = await client.PostAsync($"/api/compute/sessions/{id}/start", null);
        Assert.True(restarted.IsSuccessStatusCode, await restarted.Content.ReadAsStringAsync());
        var again = await WaitForEndAsync(client, id);
        Assert.Equal("Failed", again.GetProperty("status").GetString());
        var sessions = await client.GetFromJsonAsync<JsonElement>("/api/compute/sessions");
        Assert.Single(sessions.EnumerateArray());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/compute/sessions/{id}")).StatusCode);
    }

    private static async Task<JsonElement> WaitForEndAsync(HttpClient client, Guid id)
    {
        JsonElement session = default;
        for (var i = 0; i < 300; i++)
        {
            session = await client.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}");
            if (session.GetProperty("status").GetString() is "Failed" or "Stopped" or "Running")
            {
                return session;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"the session did not end: {session}");
        return session;
    }
}
