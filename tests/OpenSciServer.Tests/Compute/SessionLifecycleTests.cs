using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Authorization;
using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Infrastructure;

using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>Stop, start, extend and delete a real session; limits that contain a memory hog and a fork bomb.</summary>
public sealed class SessionLifecycleTests(ComputeWorld world) : IClassFixture<ComputeWorld>
{
    [Fact]
    public async Task Stop_KillsEveryProcessOfTheSession_EvenDetachedOnes_ThenStartExtendAndDeleteWork()
    {
        var id = await world.StartSessionAsync(world.BobToken, world.Bob, "lifecycle");
        using var bob = world.Client(world.BobToken);
        var uid = (await SessionRowAsync(id)).Uid!.Value;
        await Jupyter.RunAsync(world, world.BobToken, id, "setsid nohup sleep 1000 >/dev/null 2>&1 & (sleep 1001 &) ; sleep 0.2");
        Assert.Contains(ProcessesOf(uid), p => p.Contains("sleep 1000", StringComparison.Ordinal));
        var group = (await SessionRowAsync(id)).BackendId!;

        var stopped = await bob.PostAsync($"/api/compute/sessions/{id}/stop", null);

        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        var body = await stopped.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Stopped", body.GetProperty("status").GetString());
        Assert.Equal("Stopped by you.", body.GetProperty("statusReason").GetString());
        Assert.Empty(ProcessesOf(uid));
        Assert.Empty(LocalBackend.Processes(group));
        Assert.False(Directory.Exists($"/sys/fs/cgroup/memory/opensciserver-sessions/{group}") || Directory.Exists($"/sys/fs/cgroup/opensciserver-sessions/{group}"));
        // A stopped session's URL reaches nothing.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await bob.GetAsync($"{Jupyter.Base(id)}api/contents")).StatusCode);

        var started = await bob.PostAsync($"/api/compute/sessions/{id}/start", null);
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var running = await ComputeWorld.WaitForStatusAsync(bob, id, "Running");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"{Jupyter.Base(id)}api/contents")).StatusCode);
        var expires = running.GetProperty("expiresAt").GetDateTimeOffset();
        var max = running.GetProperty("maxExpiresAt").GetDateTimeOffset();
        Assert.True(max > expires);

        var extended = await bob.PostAsync($"/api/compute/sessions/{id}/extend", null);
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
        Assert.True((await extended.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetDateTimeOffset() >= expires);

        var deleted = await bob.DeleteAsync($"/api/compute/sessions/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/compute/sessions/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"{Jupyter.Base(id)}tree")).StatusCode);
        Assert.Empty(ProcessesOf(uid));
        Assert.False(Directory.Exists(Path.Combine(world.DataDirectory, "compute", "homes", id.ToString("N"))));
    }

    [Fact]
    public async Task MemoryHogAndForkBomb_AreContainedByTheDomainsLimits_TheSessionAndPlatformStayUp()
    {
        await TightDomainAsync();
        var id = await world.StartSessionAsync(world.AliceToken, world.Alice, "tight", domain: "Tight");
        using var alice = world.Client(world.AliceToken);
        var group = (await SessionRowAsync(id)).BackendId!;

        var hog = await Jupyter.RunAsync(world, world.AliceToken, id,
            "python3 -c \"b = bytearray(900 * 1024 * 1024); print('survived')\"; echo exit=$?");

        Assert.DoesNotContain("survived", hog.Replace("print('survived')", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("exit=137", hog, StringComparison.Ordinal); // SIGKILL from the kernel's OOM killer
        Assert.True(LocalBackend.OutOfMemoryKills(group) > 0);

        var bomb = await Jupyter.RunAsync(world, world.AliceToken, id,
            "python3 -c \"import os, time\nn = 0\ntry:\n    while n < 1000:\n        if os.fork() == 0:\n            time.sleep(20); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print('stopped at', n)\n\"");

        Assert.Contains("stopped at", bomb, StringComparison.Ordinal);
        var stoppedAt = int.Parse(bomb[(bomb.IndexOf("stopped at", StringComparison.Ordinal) + 11)..].Split('\n')[0].Trim(), CultureInfo.InvariantCulture);
        Assert.InRange(stoppedAt, 1, 80);
        // The session, its Jupyter and the platform are fine.
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"{Jupyter.Base(id)}api/status")).StatusCode);
        Assert.Equal("Running", (await alice.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/health")).StatusCode);
        await alice.DeleteAsync($"/api/compute/sessions/{id}");
    }

    [Fact]
    public async Task RAndOctaveImages_RunTheirOwnKernels_AsTheUser()
    {
        var id = await world.StartSessionAsync(world.BobToken, world.Bob, "languages", image: "Octave");
        using var bob = world.Client(world.BobToken);

        var octave = await Jupyter.ExecuteAsync(world, world.BobToken, id, "disp(6 * 7)", kernel: "octave");
        var kernels = await bob.GetFromJsonAsync<JsonElement>($"{Jupyter.Base(id)}api/kernelspecs");

        Assert.Contains("42", octave, StringComparison.Ordinal);
        // The image offers its own kernels only (the R kernel is installed on the machine, but not in this image).
        var offered = kernels.GetProperty("kernelspecs").EnumerateObject().Select(k => k.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["octave", "python3"], offered);
        await bob.DeleteAsync($"/api/compute/sessions/{id}");

        var r = await world.StartSessionAsync(world.BobToken, world.Bob, "r", image: "R");
        var output = await Jupyter.ExecuteAsync(world, world.BobToken, r, "cat(Sys.getenv('USER'), 6 * 7)", kernel: "ir");
        Assert.Contains($"{world.Bob} 42", output, StringComparison.Ordinal);
        await bob.DeleteAsync($"/api/compute/sessions/{r}");
    }

    [Fact]
    public async Task SessionPastItsLifetime_IsStoppedByTheWorker_WithTheReason()
    {
        var id = await world.StartSessionAsync(world.BobToken, world.Bob, "short-lived");
        using var bob = world.Client(world.BobToken);
        var group = (await SessionRowAsync(id)).BackendId!;
        await using (var scope = world.Platform.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<ComputeSession>().Where(s => s.Id == id)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.ExpiresAt, DateTimeOffset.UnixEpoch));
        }

        var stopped = await ComputeWorld.WaitForStatusAsync(bob, id, "Stopped", seconds: 30);

        Assert.Contains("end of its lifetime", stopped.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        // The row is marked first (the proxy stops forwarding at once), then the processes are killed.
        for (var i = 0; i < 100 && LocalBackend.Processes(group).Count > 0; i++)
        {
            await Task.Delay(50);
        }

        Assert.Empty(LocalBackend.Processes(group));
        await bob.DeleteAsync($"/api/compute/sessions/{id}");
    }

    private async Task TightDomainAsync()
    {
        using var admin = world.Client(world.AdminToken);
        var put = await admin.PutAsJsonAsync("/api/admin/compute/domains/Tight", new
        {
            description = "Small limits for tests",
            backend = "Local",
            memoryBytes = 256L * 1024 * 1024,
            cpus = 1,
            maxProcesses = 64,
            maxSessionsPerUser = 2,
            idleTimeout = "01:00:00",
            lifetime = "02:00:00",
            maxLifetime = "04:00:00",
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        Guid resourceId;
        await using (var scope = world.Platform.Services.CreateAsyncScope())
        {
            resourceId = (await scope.ServiceProvider.GetRequiredService<AccessService>().FindAsync(ResourceTypes.ComputeDomain, "Tight", CancellationToken.None))!.Id;
        }

        var share = await admin.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "group", name = "public", actions = new[] { "use" } });
        Assert.True(share.IsSuccessStatusCode, await share.Content.ReadAsStringAsync());
    }

    private async Task<ComputeSession> SessionRowAsync(Guid id)
    {
        await using var scope = world.Platform.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<ComputeSession>().AsNoTracking().FirstAsync(s => s.Id == id);
    }

    /// <summary>Command lines of the machine's processes running as a uid.</summary>
    internal static List<string> ProcessesOf(int uid) =>
        MachineProcesses.All().Where(p => p.Uid == uid).Select(p => p.CommandLine).ToList();
}
