using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Authorization;
using OpenSciServer.Compute;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// The session flow on the Slurm backend against the test process's real slurmctld and slurmd
/// (<see cref="SlurmCluster"/>): one platform on a real port, Alice, the data volume "sky" shared with
/// everyone, a Slurm domain on the up partition and one on the down partition.
/// </summary>
public sealed class SlurmSessionTests(SlurmWorld world) : IClassFixture<SlurmWorld>
{
    [Fact]
    public async Task SlurmSession_ThroughTheProxy_WritesPersistentReadsTheDataVolumeAsTheUsersUid_ThenStopsAndStartsAgain()
    {
        var (user, token) = await world.NewUserAsync();
        using var client = world.Platform.CreateApiClient(token);
        var id = await SlurmWorld.CreateSessionAsync(client, user, "on-the-cluster", SlurmWorld.Domain);
        var running = await ComputeWorld.WaitForStatusAsync(client, id, "Running");
        Assert.Null(Reason(running)); // the queue's reason is gone once it runs
        var row = await world.RowAsync(id);
        Assert.Equal("RUNNING", await world.Cluster.JobStateAsync(row.BackendId!));

        // Through the platform's proxy: write into persistent, read the data volume.
        var put = await client.PutAsJsonAsync($"{Jupyter.Base(id)}api/contents/Storage/{user}/persistent/from-slurm.txt",
            new { type = "file", format = "text", content = "written on a Slurm node" });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var readme = await client.GetFromJsonAsync<JsonElement>($"{Jupyter.Base(id)}api/contents/{SlurmWorld.DataVolume}/readme.txt?type=file&format=text");
        Assert.Equal("the sky is big\n", readme.GetProperty("content").GetString());
        var writeData = await client.PutAsJsonAsync($"{Jupyter.Base(id)}api/contents/{SlurmWorld.DataVolume}/mine.txt", new { type = "file", format = "text", content = "x" });
        Assert.False(writeData.IsSuccessStatusCode, "the data volume must be read-only");

        var onDisk = Path.Combine(world.Platform.DataDirectory, "volumes", "Storage", user, "persistent", "from-slurm.txt");
        Assert.Equal("written on a Slurm node", await File.ReadAllTextAsync(onDisk));
        Assert.InRange(row.Uid!.Value, 200_000, 299_999);
        Assert.Equal(row.Uid.Value, LocalSessionTests.OwnerUid(onDisk));
        // The Jupyter server itself (the job's process on the node) runs as that uid, not as root.
        Assert.Equal(row.Uid.Value, JupyterProcessUid(id));
        Assert.Equal("written on a Slurm node", await client.GetStringAsync($"/api/files/content/Storage/{user}/persistent/from-slurm.txt"));

        var stopped = await client.PostAsync($"/api/compute/sessions/{id}/stop", null);
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.Equal("Stopped", (await stopped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        await WaitForJobEndAsync(row.BackendId!);
        for (var i = 0; i < 100 && JupyterProcessUid(id) != -1; i++)
        {
            await Task.Delay(100); // Slurm's KillWait: TERM, then KILL
        }

        Assert.Equal(-1, JupyterProcessUid(id));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync($"{Jupyter.Base(id)}api/contents")).StatusCode);

        var again = await client.PostAsync($"/api/compute/sessions/{id}/start", null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await ComputeWorld.WaitForStatusAsync(client, id, "Running");
        var second = await world.RowAsync(id);
        Assert.NotEqual(row.BackendId, second.BackendId); // a new job
        var listing = await client.GetFromJsonAsync<JsonElement>($"{Jupyter.Base(id)}api/contents/Storage/{user}/persistent");
        Assert.Contains(listing.GetProperty("content").EnumerateArray(), f => f.GetProperty("name").GetString() == "from-slurm.txt");

        var sharedFolder = Path.Combine(world.Platform.DataDirectory, "compute", "slurm", id.ToString("N"));
        Assert.True(Directory.Exists(sharedFolder), sharedFolder);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/compute/sessions/{id}")).StatusCode);
        await WaitForJobEndAsync(second.BackendId!);
        Assert.False(Directory.Exists(sharedFolder), "the session's folder on the shared file system goes with the session");
    }

    [Fact]
    public async Task SlurmSession_InADownPartition_ListShowsItQueuedWithTheSchedulersReason_AndStopCancelsTheJob()
    {
        var (user, token) = await world.NewUserAsync();
        using var client = world.Platform.CreateApiClient(token);
        var id = await SlurmWorld.CreateSessionAsync(client, user, "waiting", SlurmWorld.ClosedDomain);

        JsonElement listed = default;
        for (var i = 0; i < 150; i++)
        {
            listed = (await client.GetFromJsonAsync<JsonElement>("/api/compute/sessions")).EnumerateArray().Single(s => s.GetProperty("id").GetGuid() == id);
            // Right after submission Slurm may not have looked at the job yet ("waiting for the scheduler").
            if (Reason(listed)?.Contains("PartitionDown", StringComparison.Ordinal) == true)
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.Equal("Starting", listed.GetProperty("status").GetString());
        var reason = Reason(listed);
        Assert.Contains("Queued in Slurm (partition 'closed'): the partition is down", reason, StringComparison.Ordinal);
        Assert.Contains("PENDING, reason PartitionDown", reason, StringComparison.Ordinal);
        var jobId = (await world.RowAsync(id)).BackendId!;
        Assert.Equal("PENDING", await world.Cluster.JobStateAsync(jobId));

        var stopped = await client.PostAsync($"/api/compute/sessions/{id}/stop", null);

        Assert.Equal("Stopped", (await stopped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        await WaitForJobEndAsync(jobId);
        await Task.Delay(500); // the launch that waited for the queue has ended: nothing submits again
        Assert.Equal("Stopped", (await client.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}")).GetProperty("status").GetString());
        Assert.Empty(await LiveJobsOfAsync(id));
    }

    /// <summary>The session's statusReason (absent from the JSON when there is none).</summary>
    internal static string? Reason(JsonElement session) =>
        session.TryGetProperty("statusReason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;

    private async Task WaitForJobEndAsync(string jobId)
    {
        string? state = null;
        for (var i = 0; i < 100; i++)
        {
            state = await world.Cluster.JobStateAsync(jobId);
            if (state is null or "CANCELLED" or "COMPLETED" or "FAILED")
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"job {jobId} is still {state}");
    }

    private async Task<List<string>> LiveJobsOfAsync(Guid sessionId)
    {
        var lines = await world.Cluster.RunAsync("/usr/bin/squeue", "--noheader", "--format=%j %T");
        return lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(sessionId.ToString("N"), StringComparison.Ordinal)).ToList();
    }

    /// <summary>The uid of the session's Jupyter server process on this machine (the node), or -1 when none runs.</summary>
    internal static int JupyterProcessUid(Guid id)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (cmd.Contains("notebook") && cmd.Any(a => a.Contains(id.ToString(), StringComparison.Ordinal)) && !cmd.Any(a => a.EndsWith("bwrap", StringComparison.Ordinal)))
                {
                    var uidLine = File.ReadLines(Path.Combine(dir, "status")).First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                    return int.Parse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
            }
        }

        return -1;
    }
}

/// <summary>A platform on a real port whose Slurm backend uses the test process's cluster, with two Slurm domains and the data volume "sky".</summary>
public sealed class SlurmWorld : IAsyncLifetime
{
    public const string Domain = "Cluster";
    public const string ClosedDomain = "ClusterClosed";
    public const string DataVolume = "sky";

    public SlurmCluster Cluster { get; private set; } = default!;

    public PlatformFactory Platform { get; } = new(DatabaseKind.Sqlite) { KestrelPort = TestPorts.Free() };

    private readonly List<string> _tokens = [];

    public async Task InitializeAsync()
    {
        Cluster = await SlurmCluster.SharedAsync();
        await PrepareAsync(Platform, Cluster);
    }

    public async Task DisposeAsync()
    {
        foreach (var token in _tokens)
        {
            using var client = Platform.CreateApiClient(token);
            foreach (var s in (await client.GetFromJsonAsync<JsonElement>("/api/compute/sessions")).EnumerateArray())
            {
                await client.DeleteAsync($"/api/compute/sessions/{s.GetProperty("id").GetGuid()}");
            }
        }

        await Platform.DisposeAsync();
    }

    public async Task<(string User, string Token)> NewUserAsync()
    {
        var user = PlatformFactory.UniqueName("sl");
        var token = await Platform.CreateUserAsync(user);
        _tokens.Add(token);
        return (user, token);
    }

    public async Task<ComputeSession> RowAsync(Guid id) => await RowAsync(Platform, id);

    public static async Task<ComputeSession> RowAsync(PlatformFactory platform, Guid id)
    {
        ArgumentNullException.ThrowIfNull(platform);
        await using var scope = platform.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<ComputeSession>().AsNoTracking().FirstAsync(s => s.Id == id);
    }

    /// <summary>Points a platform (not yet initialized) at the cluster, starts it, adds the domains and the data volume.</summary>
    public static async Task PrepareAsync(PlatformFactory platform, SlurmCluster cluster, bool reachable = true)
    {
        ArgumentNullException.ThrowIfNull(platform);
        ArgumentNullException.ThrowIfNull(cluster);
        platform.Settings["Compute:CheckInterval"] = "00:00:01";
        foreach (var (key, value) in cluster.PlatformSettings(reachable))
        {
            platform.Settings[key] = value;
        }

        await platform.InitializeAsync();
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        foreach (var (name, partition) in new[] { (Domain, SlurmCluster.Partition), (ClosedDomain, SlurmCluster.DownPartition) })
        {
            var put = await admin.PutAsJsonAsync($"/api/admin/compute/domains/{name}", new
            {
                backend = "Slurm", partition, memoryBytes = 1L << 30, cpus = 1, maxProcesses = 256, maxSessionsPerUser = 3,
                idleTimeout = "01:00:00", lifetime = "01:00:00", maxLifetime = "02:00:00",
            });
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
            Guid resourceId;
            await using (var scope = platform.Services.CreateAsyncScope())
            {
                resourceId = (await scope.ServiceProvider.GetRequiredService<AccessService>().FindAsync(ResourceTypes.ComputeDomain, name, CancellationToken.None))!.Id;
            }

            var share = await admin.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "group", name = "public", actions = new[] { "use" } });
            Assert.True(share.IsSuccessStatusCode, await share.Content.ReadAsStringAsync());
        }

        var folder = Directory.CreateDirectory(Path.Combine(platform.DataDirectory, "volumes", "Data", DataVolume)).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "readme.txt"), "the sky is big\n");
        var registered = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = DataVolume, path = folder });
        Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        var volumeId = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resourceId").GetGuid();
        var shared = await admin.PutAsJsonAsync($"/api/resources/{volumeId}/privileges", new { type = "group", name = "public", actions = new[] { "read" } });
        Assert.True(shared.IsSuccessStatusCode, await shared.Content.ReadAsStringAsync());
    }

    /// <summary>Creates a session with the user's persistent volume read-write and the data volume read-only; returns its id (Starting).</summary>
    public static async Task<Guid> CreateSessionAsync(HttpClient client, string user, string name, string domain)
    {
        ArgumentNullException.ThrowIfNull(client);
        var created = await client.PostAsJsonAsync("/api/compute/sessions", new
        {
            name,
            domain,
            image = "Python 3 (astro)",
            dataVolumes = new[] { DataVolume },
            userVolumes = new[] { new { rootVolume = "Storage", owner = user, name = "persistent", writable = true } },
        });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }
}
