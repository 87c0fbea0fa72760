using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Authorization;
using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// A session nobody uses is stopped after the domain's idle timeout, with the reason; use through the
/// proxy keeps it up. Extending never goes past the domain's maximum lifetime. Real sessions and real
/// time: the idle timeout is shortened to seconds in the database (the API's minimum is a minute) and the
/// world checks running sessions every second.
/// </summary>
[Collection(SessionEndsWorld.Name)]
public sealed class IdleCullingTests(ComputeWorld world)
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task IdleSession_TrafficThroughTheProxyKeepsItUp_ThenSilenceStopsItWithTheReason()
    {
        await DomainAsync("Idle", idle: "00:01:00", lifetime: "01:00:00", max: "02:00:00");
        await using (var scope = world.Platform.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<ComputeDomain>().Where(d => d.Name == "Idle")
                .ExecuteUpdateAsync(u => u.SetProperty(d => d.IdleTimeout, IdleTimeout));
        }

        var id = await world.StartSessionAsync(world.BobToken, world.Bob, "idler", domain: "Idle");
        using var bob = world.Client(world.BobToken);
        var group = await BackendIdAsync(id);

        // Used through the proxy for more than twice the idle timeout: it keeps running.
        var used = Stopwatch.StartNew();
        while (used.Elapsed < IdleTimeout * 2.5)
        {
            Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{Jupyter.Base(id)}api/contents")).StatusCode);
            await Task.Delay(500);
        }

        var session = await bob.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}");
        Assert.Equal("Running", session.GetProperty("status").GetString());
        Assert.True(session.GetProperty("idleStopAt").GetDateTimeOffset() > session.GetProperty("startedAt").GetDateTimeOffset());

        // Then nothing: stopped once the idle timeout has passed, with the reason for the user.
        var quiet = Stopwatch.StartNew();
        var stopped = await ComputeWorld.WaitForStatusAsync(bob, id, "Stopped", seconds: 30);
        Assert.True(quiet.Elapsed >= IdleTimeout - TimeSpan.FromSeconds(1), $"stopped after {quiet.Elapsed} of silence");
        Assert.Contains("It was idle for", stopped.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        Assert.False(stopped.TryGetProperty("idleStopAt", out var idleStop) && idleStop.ValueKind != JsonValueKind.Null, "a stopped session has no idle stop ahead");
        for (var i = 0; i < 100 && LocalBackend.Processes(group).Count > 0; i++)
        {
            await Task.Delay(50);
        }

        Assert.Empty(LocalBackend.Processes(group));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await bob.GetAsync($"{Jupyter.Base(id)}api/contents")).StatusCode);
        await bob.DeleteAsync($"/api/compute/sessions/{id}");
    }

    [Fact]
    public async Task Extend_NearTheMaximumLifetime_EndsAtTheMaximum_ThenIsRefusedWithTheLimit()
    {
        await DomainAsync("Capped", idle: "01:00:00", lifetime: "01:00:00", max: "01:30:00");
        var id = await world.StartSessionAsync(world.AliceToken, world.Alice, "capped", domain: "Capped");
        using var alice = world.Client(world.AliceToken);

        // An extension now gives a full hour from now.
        var before = await alice.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}");
        var extended = await alice.PostAsync($"/api/compute/sessions/{id}/extend", null);
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
        var once = await extended.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(once.GetProperty("expiresAt").GetDateTimeOffset() >= before.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal(before.GetProperty("maxExpiresAt").GetDateTimeOffset(), once.GetProperty("maxExpiresAt").GetDateTimeOffset());

        // Started 50 minutes ago (as far as the platform knows): an hour more would pass the 90-minute
        // maximum, so the end is the maximum itself.
        await using (var scope = world.Platform.Services.CreateAsyncScope())
        {
            var started = TimeProvider.System.GetUtcNow() - TimeSpan.FromMinutes(50);
            await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<ComputeSession>().Where(s => s.Id == id)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.StartedAt, started).SetProperty(s => s.ExpiresAt, started + TimeSpan.FromHours(1)));
        }

        var capped = await alice.PostAsync($"/api/compute/sessions/{id}/extend", null);
        Assert.Equal(HttpStatusCode.OK, capped.StatusCode);
        var atMax = await capped.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(atMax.GetProperty("maxExpiresAt").GetDateTimeOffset(), atMax.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.InRange(atMax.GetProperty("expiresAt").GetDateTimeOffset() - TimeProvider.System.GetUtcNow(), TimeSpan.FromMinutes(39), TimeSpan.FromMinutes(40));

        // No further: 409 with the domain's limit in words.
        var refused = await alice.PostAsync($"/api/compute/sessions/{id}/extend", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("run at most 1.5 hour(s) after their start", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("Running", (await alice.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}")).GetProperty("status").GetString());

        // A stopped session cannot be extended at all.
        await alice.PostAsync($"/api/compute/sessions/{id}/stop", null);
        var stopped = await alice.PostAsync($"/api/compute/sessions/{id}/extend", null);
        Assert.Equal(HttpStatusCode.Conflict, stopped.StatusCode);
        Assert.Contains("Only a running session can be extended", await stopped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await alice.DeleteAsync($"/api/compute/sessions/{id}");
    }

    private async Task DomainAsync(string name, string idle, string lifetime, string max)
    {
        using var admin = world.Client(world.AdminToken);
        var put = await admin.PutAsJsonAsync($"/api/admin/compute/domains/{name}", new
        {
            description = "For tests",
            backend = "Local",
            memoryBytes = 512L * 1024 * 1024,
            cpus = 1,
            maxProcesses = 256,
            maxSessionsPerUser = 2,
            idleTimeout = idle,
            lifetime,
            maxLifetime = max,
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        Guid resourceId;
        await using (var scope = world.Platform.Services.CreateAsyncScope())
        {
            resourceId = (await scope.ServiceProvider.GetRequiredService<AccessService>().FindAsync(ResourceTypes.ComputeDomain, name, CancellationToken.None))!.Id;
        }

        var share = await admin.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "group", name = "public", actions = new[] { "use" } });
        Assert.True(share.IsSuccessStatusCode, await share.Content.ReadAsStringAsync());
    }

    private async Task<string> BackendIdAsync(Guid id)
    {
        await using var scope = world.Platform.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<ComputeSession>().AsNoTracking().FirstAsync(s => s.Id == id)).BackendId!;
    }
}

/// <summary>One <see cref="ComputeWorld"/> for the classes about how sessions end and the terminal page.</summary>
[CollectionDefinition(Name)]
public sealed class SessionEndsWorld : ICollectionFixture<ComputeWorld>
{
    public const string Name = "Compute: session ends and pages";
}
