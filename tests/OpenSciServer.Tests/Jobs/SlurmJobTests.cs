using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Infrastructure;
using OpenSciServer.Jobs;
using OpenSciServer.Tests.Compute;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>
/// Command and notebook jobs on the Slurm backend against the test process's real slurmctld and slurmd
/// (<see cref="SlurmCluster"/>): the domains of <see cref="SlurmWorld"/> (an up and a down partition).
/// </summary>
public sealed class SlurmJobTests(SlurmJobWorld world) : IClassFixture<SlurmJobWorld>
{
    [Fact]
    public async Task CommandJob_OnSlurm_WritesIntoPersistentAsTheUsersUid_AndSucceedsWithStdoutAndExitCode()
    {
        var (user, client) = await world.NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command(
            $"id -u\necho written on the node > /home/idies/workspace/Storage/{user}/persistent/from-slurm-job.txt\necho done",
            userVolumes: new[] { new { rootVolume = "Storage", owner = user, name = "persistent", writable = true } },
            domain: SlurmWorld.Domain));

        var details = await Jobs.WaitAsync(client, id, "Success", seconds: 60);

        var job = details.GetProperty("job");
        var row = await world.RowAsync(id);
        Assert.InRange(row.Uid!.Value, 1, int.MaxValue);
        Assert.Equal($"{row.Uid.Value.ToString(CultureInfo.InvariantCulture)}\ndone\n", Jobs.Stdout(details));
        Assert.Equal(0, job.GetProperty("exitCode").GetInt32());
        Assert.Equal("0\n", await File.ReadAllTextAsync(Path.Combine(Jobs.Folder(world.Platform.DataDirectory, job), "exitcode.txt")));
        var written = Path.Combine(world.Platform.DataDirectory, "volumes", "Storage", user, "persistent", "from-slurm-job.txt");
        Assert.Equal("written on the node\n", await File.ReadAllTextAsync(written));
        Assert.Equal(row.Uid.Value, LocalSessionTests.OwnerUid(written));
        Assert.Contains(job.GetProperty("messages").EnumerateArray(), m => m.GetProperty("content").GetString()!.Contains("on Slurm", StringComparison.Ordinal));
        Assert.False(job.TryGetProperty("queueReason", out _));

        // It was a Slurm job of its own, named and commented with the platform's job id and attempt.
        Assert.All(row.BackendId!, c => Assert.True(char.IsAsciiDigit(c)));
        var seen = await world.Cluster.RunAsync("/usr/bin/squeue", "--noheader", "--states=all", $"--jobs={row.BackendId}", "--format=%j|%k");
        Assert.Matches($"^ossjob-[0-9a-f]{{10}}-{id}-1\\|OpenSciServer [0-9a-f]{{10}} job {id} attempt 1 of {user}$", seen.Trim());
    }

    [Fact]
    public async Task FailingCommand_OnSlurm_IsErrorWithItsExitCode()
    {
        var (_, client) = await world.NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command("echo before; echo oops >&2; exit 3", domain: SlurmWorld.Domain));

        var details = await Jobs.WaitAsync(client, id, "Error", seconds: 60);

        var job = details.GetProperty("job");
        Assert.Equal(3, job.GetProperty("exitCode").GetInt32());
        Assert.Equal("before\n", Jobs.Stdout(details));
        Assert.Equal("oops\n", Jobs.Stderr(details));
        Assert.Contains(job.GetProperty("messages").EnumerateArray(), m => m.GetProperty("label").GetString() == "ERROR" && m.GetProperty("content").GetString()!.Contains("exit code 3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancel_RunningSlurmJob_IsCanceled_AndTheSlurmJobIsGone()
    {
        var (_, client) = await world.NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command("echo started; sleep 300", domain: SlurmWorld.Domain));
        await Jobs.WaitAsync(client, id, "Started", seconds: 60);
        var slurmId = (await world.RowAsync(id)).BackendId!;
        Assert.Equal("RUNNING", await EventuallyAsync(slurmId, "RUNNING"));

        var canceled = await client.PostAsync($"/api/jobs/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);
        Assert.Equal("Canceled", (await canceled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Equal("CANCELLED", await EventuallyAsync(slurmId, "CANCELLED"));
    }

    [Fact]
    public async Task TimeLimit_OnSlurm_IsErrorWithATimeLimitMessage_AndTheSlurmJobIsGone()
    {
        var (_, client) = await world.NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command("sleep 300", timeLimit: "00:00:03", domain: SlurmWorld.Domain));

        var details = await Jobs.WaitAsync(client, id, "Error", seconds: 60);

        Assert.Contains(details.GetProperty("job").GetProperty("messages").EnumerateArray(), m => m.GetProperty("label").GetString() == "TIMEOUT"
            && m.GetProperty("content").GetString()!.Contains("time limit of 3 second", StringComparison.Ordinal));
        Assert.Equal("CANCELLED", await EventuallyAsync((await world.RowAsync(id)).BackendId!, "CANCELLED"));
    }

    [Fact]
    public async Task Job_InADownPartition_IsQueuedWithSlurmsReason_ThenCanceled_AndNothingIsLeftInSlurm()
    {
        var (_, client) = await world.NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command("echo never", domain: SlurmWorld.ClosedDomain));

        var queued = await Jobs.WaitAsync(client, id, "Queued", seconds: 60);

        var slurmId = (await world.RowAsync(id)).BackendId!;
        Assert.Equal("PENDING", await world.Cluster.JobStateAsync(slurmId));
        Assert.Equal(2, queued.GetProperty("job").GetProperty("statusCode").GetInt32());
        // Slurm's scheduler gives its reason within a cycle; the job shows it, in words and in Slurm's own.
        var reason = "";
        for (var i = 0; i < 100 && !reason.Contains("PartitionDown", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            var job = (await Jobs.DetailsAsync(client, id)).GetProperty("job");
            reason = job.TryGetProperty("queueReason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
        }

        Assert.Contains("Queued in Slurm (partition 'closed'): the partition is down", reason, StringComparison.Ordinal);
        Assert.Contains("[PENDING, reason PartitionDown]", reason, StringComparison.Ordinal);
        var listed = (await client.GetFromJsonAsync<JsonElement>("/api/jobs?status=queued")).EnumerateArray().Single();
        Assert.Equal(reason, listed.GetProperty("queueReason").GetString());

        var canceled = await client.PostAsync($"/api/jobs/{id}/cancel", null);
        var after = await canceled.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Canceled", after.GetProperty("status").GetString());
        Assert.False(after.TryGetProperty("queueReason", out _));
        Assert.Equal("CANCELLED", await EventuallyAsync(slurmId, "CANCELLED"));
    }

    [Fact]
    public async Task NotebookJob_OnSlurm_ExecutesTheNotebookWithItsParameters()
    {
        var (user, client) = await world.NewUserAsync();
        await client.GetAsync("/api/files/volumes");
        var notebook = new
        {
            cells = new object[]
            {
                new { cell_type = "code", metadata = new { }, execution_count = (int?)null, outputs = Array.Empty<object>(),
                    source = "import os\nprint('param env:', os.environ['SCISERVER_JOB_PARAMETERS'])\nopen('from-notebook.txt', 'w').write('done on slurm')" },
            },
            metadata = new { kernelspec = new { name = "python3", display_name = "Python 3", language = "python" } },
            nbformat = 4,
            nbformat_minor = 5,
        };
        var upload = await client.PutAsync($"/fileservice/api/file/Storage/{user}/persistent/slurm.ipynb", JsonContent.Create(notebook));
        Assert.True(upload.IsSuccessStatusCode, await upload.Content.ReadAsStringAsync());

        var id = await Jobs.SubmitAsync(client, new
        {
            kind = "notebook",
            notebookPath = $"/home/idies/workspace/Storage/{user}/persistent/slurm.ipynb",
            parameters = "beta=2",
            domain = SlurmWorld.Domain,
            image = Jobs.Image,
        });
        var details = await Jobs.WaitAsync(client, id, "Success", seconds: 120);

        var folder = Jobs.Folder(world.Platform.DataDirectory, details.GetProperty("job"));
        Assert.Contains("param env: beta=2", await File.ReadAllTextAsync(Path.Combine(folder, "slurm.ipynb")), StringComparison.Ordinal);
        Assert.Equal("done on slurm", await File.ReadAllTextAsync(Path.Combine(folder, "from-notebook.txt")));
    }

    private async Task<string?> EventuallyAsync(string slurmId, string state)
    {
        string? now = null;
        for (var i = 0; i < 150 && (now = await world.Cluster.JobStateAsync(slurmId)) != state; i++)
        {
            await Task.Delay(100);
        }

        return now;
    }
}

/// <summary>A platform whose Slurm backend uses the test process's cluster, with <see cref="SlurmWorld"/>'s domains.</summary>
public sealed class SlurmJobWorld : IAsyncLifetime
{
    public SlurmCluster Cluster { get; private set; } = default!;

    public PlatformFactory Platform { get; } = new(DatabaseKind.Sqlite);

    public async Task InitializeAsync()
    {
        Cluster = await SlurmCluster.SharedAsync();
        Platform.Settings["Jobs:PollInterval"] = "00:00:00.250";
        Platform.Settings["Jobs:MaxRunningPerUser"] = "4";
        Platform.Settings["Jobs:MaxRunning"] = "16";
        await SlurmWorld.PrepareAsync(Platform, Cluster);
    }

    public async Task DisposeAsync() => await Platform.DisposeAsync();

    public async Task<(string User, HttpClient Client)> NewUserAsync()
    {
        var user = PlatformFactory.UniqueName("sj");
        return (user, Platform.CreateApiClient(await Platform.CreateUserAsync(user)));
    }

    public async Task<ComputeJob> RowAsync(long id) => await RowAsync(Platform, id);

    public static async Task<ComputeJob> RowAsync(PlatformFactory platform, long id)
    {
        ArgumentNullException.ThrowIfNull(platform);
        await using var scope = platform.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<ComputeJob>().AsNoTracking().FirstAsync(j => j.Id == id);
    }
}
