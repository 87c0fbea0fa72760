using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenSciServer.Compute.Slurm;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>The reusable Slurm client against the real test cluster: argument lists, never a shell; states and reasons; idempotent cancel.</summary>
public sealed class SlurmClientTests(SlurmClusterFixture fixture) : IClassFixture<SlurmClusterFixture>
{
    private SlurmClient Client(bool reachable = true) => new(Options.Create(new SlurmOptions
    {
        ConfigPath = reachable ? fixture.Cluster.ConfigPath : fixture.Cluster.UnreachableConfigPath,
        CommandTimeout = TimeSpan.FromSeconds(30),
    }), NullLogger<SlurmClient>.Instance);

    [Fact]
    public async Task Submit_ShellCharactersInNameAndComment_AreNeverInterpreted_AndTheJobIsFoundPendingWithItsReason()
    {
        var folder = Directory.CreateTempSubdirectory("oss-slurm-client-").FullName;
        var marker = Path.Combine(folder, "pwned");
        var script = Path.Combine(folder, "job.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\nsleep 60\n");
        var client = Client();

        var id = await client.SubmitAsync(new SlurmSubmission(script, "oss-client-test")
        {
            Comment = $"it's $(touch {marker}); `touch {marker}` | x",
            Partition = SlurmCluster.DownPartition,
            CpusPerTask = 1,
            MemoryMegabytes = 32,
            TimeLimit = TimeSpan.FromMinutes(90),
            WorkingDirectory = folder,
            OutputPath = Path.Combine(folder, "out.txt"),
        }, CancellationToken.None);

        SlurmJob? job = null;
        for (var i = 0; i < 100 && job?.Reason != "PartitionDown"; i++)
        {
            job = await client.GetJobAsync(id, CancellationToken.None);
            await Task.Delay(100);
        }

        Assert.NotNull(job);
        Assert.Equal("PENDING", job.State);
        Assert.True(job.IsPending);
        Assert.Equal("PartitionDown", job.Reason);
        Assert.Equal(SlurmCluster.DownPartition, job.Partition);
        Assert.Equal($"it's $(touch {marker}); `touch {marker}` | x", job.Comment);
        Assert.Contains(await client.ListJobsAsync("oss-client-", CancellationToken.None), j => j.Id == id);
        var shown = await client.ShowJobAsync(id, CancellationToken.None);
        Assert.Equal("01:30:00", shown!["TimeLimit"]);
        Assert.False(File.Exists(marker));

        await client.CancelAsync(id, CancellationToken.None);
        await client.CancelAsync(id, CancellationToken.None); // again: fine
        Assert.Equal("CANCELLED", (await client.GetJobAsync(id, CancellationToken.None))!.State);
        Assert.True((await client.GetJobAsync(id, CancellationToken.None))!.IsFinished);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task UnknownJob_IsNull_AndAnUnreachableControllerIsSaidSo()
    {
        Assert.Null(await Client().GetJobAsync("987654", CancellationToken.None));
        await Client().CancelAsync("987654", CancellationToken.None);

        var e = await Assert.ThrowsAsync<SlurmException>(() => Client(reachable: false).GetJobAsync("1", CancellationToken.None));

        Assert.True(e.ControllerUnreachable);
        Assert.Contains("Unable to contact slurm controller", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Client().CancelAsync("--user=root", CancellationToken.None));
    }

    [Theory]
    [InlineData(30, "0-00:30:00")]
    [InlineData(90.5, "0-01:31:00")]
    [InlineData(7 * 24 * 60, "7-00:00:00")]
    public void FormatTime_IsSlurmsDaysHoursMinutesSeconds_RoundedUpToAMinute(double minutes, string expected) =>
        Assert.Equal(expected, SlurmClient.FormatTime(TimeSpan.FromMinutes(minutes)));
}
